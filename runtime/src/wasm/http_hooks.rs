//! Where a component's outbound HTTP request meets the grant: every request is checked
//! before a connection is made, every response is capped in size and bounded in time. What
//! went wrong is recorded as an [`HttpFault`], so the flow's error names the component, the
//! URL and the grant even when the guest reports the failure vaguely or not at all.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::http_grant::HttpGrant;

/// What a component's HTTP traffic ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HttpFault {
    /// A request to a URL outside the grant.
    Refused { url: String },
    /// A response body over the cap.
    TooLarge { url: String, limit: u64 },
    /// A response that did not arrive whole in time.
    TimedOut { url: String, timeout: Duration },
}

/// The first fault of an instance, shared with the response bodies it hands out.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultCell(Arc<Mutex<Option<HttpFault>>>);

impl FaultCell {
    fn record(&self, fault: HttpFault) {
        let mut first = self.0.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(fault);
    }

    /// The first fault recorded, if any.
    pub(crate) fn first(&self) -> Option<HttpFault> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The `wasi:http` hooks of one instance.
pub(crate) struct HttpHooks {
    pub(crate) grant: HttpGrant,
    pub(crate) response_limit: u64,
    pub(crate) request_timeout: Duration,
    pub(crate) faults: FaultCell,
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let url = shown(request.uri());
        if !self.grant.admits(request.uri()) {
            tracing::warn!(url = %url, grant = %self.grant.describe(), "refused a component's request outside its grant");
            self.faults.record(HttpFault::Refused { url });
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let timeout = self.request_timeout;
        let limit = self.response_limit;
        let faults = self.faults.clone();
        let options = bounded(options, timeout);
        Box::new(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            let sent = tokio::time::timeout_at(
                deadline,
                wasmtime_wasi_http::default_send_request(request, Some(options)),
            )
            .await;
            let (response, connection) = match sent {
                Ok(sent) => sent?,
                Err(_) => {
                    faults.record(HttpFault::TimedOut { url, timeout });
                    return Err(HttpError::HttpResponseTimeout);
                }
            };
            let declared = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|length| length > limit) {
                faults.record(HttpFault::TooLarge { url, limit });
                return Err(HttpError::HttpResponseBodySize(declared));
            }
            let response = response.map(|body| {
                CappedBody {
                    inner: body.boxed_unsync(),
                    seen: 0,
                    limit,
                    deadline: Box::pin(tokio::time::sleep_until(deadline)),
                    timeout,
                    url,
                    faults,
                }
                .boxed_unsync()
            });
            Ok((
                response,
                Box::new(connection) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// `uri` for messages and logs: without its query, where an API key may sit.
fn shown(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = uri.authority().map_or("", |a| a.as_str());
    let query = if uri.query().is_some() { "?…" } else { "" };
    format!("{scheme}://{authority}{}{query}", uri.path())
}

/// The guest's timeouts, each no longer than the host's.
fn bounded(options: Option<RequestOptions>, timeout: Duration) -> RequestOptions {
    let cap = |asked: Option<Duration>| Some(asked.map_or(timeout, |t| t.min(timeout)));
    let options = options.unwrap_or_default();
    RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
    }
}

/// A response body that fails once it passes `limit` bytes or its deadline.
struct CappedBody {
    inner: UnsyncBoxBody<Bytes, HttpError>,
    seen: u64,
    limit: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    url: String,
    faults: FaultCell,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.faults.record(HttpFault::TimedOut {
                url: this.url.clone(),
                timeout: this.timeout,
            });
            return Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)));
        }
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &frame
            && let Some(data) = frame.data_ref()
        {
            this.seen += data.len() as u64;
            if this.seen > this.limit {
                this.faults.record(HttpFault::TooLarge {
                    url: this.url.clone(),
                    limit: this.limit,
                });
                return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(this.seen)))));
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}
