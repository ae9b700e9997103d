//! Requests through `wasi:http`: the host decides what may be reached; this module follows
//! redirects (at most 5), keeps to the rate limit, and retries 429 and 5xx answers with the
//! server's `Retry-After` or an exponential backoff.

use hygge_component_sdk::Failure;
use hygge_rest_config::Retries;
use wasip2::clocks::monotonic_clock;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, Method, OutgoingBody, OutgoingRequest,
    Scheme,
};
use wasip2::io::streams::StreamError;

use crate::log;
use crate::url::Url;

/// Redirects followed per request.
const MAX_REDIRECTS: usize = 5;
/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT_SECS: f64 = 60.0;

/// An answer, whatever its status.
#[derive(Debug)]
pub struct Response {
    /// Where it came from, after redirects.
    pub url: Url,
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The start of the body, for messages.
    pub fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.chars().take(200).collect();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A request to send.
pub struct Request<'a> {
    /// GET or POST.
    pub post: bool,
    /// Where to.
    pub url: Url,
    /// Headers, as `(name, value)`.
    pub headers: &'a [(String, String)],
    /// A form body, for POST.
    pub body: Option<&'a str>,
}

/// Sends requests one at a time.
pub struct Client {
    retries: Retries,
    /// Nanoseconds between request starts, from `rate_limit`.
    interval: Option<u64>,
    last_start: Option<u64>,
}

impl Client {
    /// A client with the config's retries and rate limit.
    pub fn new(retries: Retries, requests_per_second: Option<f64>) -> Client {
        Client {
            retries,
            interval: requests_per_second.map(|rps| (1e9 / rps) as u64),
            last_start: None,
        }
    }

    /// Sends `request`, following redirects and retrying 429 and 5xx answers; the last
    /// answer is returned whatever its status.
    ///
    /// # Errors
    /// A connection error when the request could not be sent or answered.
    pub fn send(&mut self, request: &Request<'_>) -> Result<Response, Failure> {
        let first = self.begin(request)?;
        self.finish(request, first)
    }

    /// Sends `request` and returns at once: the host sends it and receives the answer
    /// while the component works on something else. [`finish`](Self::finish) waits for it.
    ///
    /// # Errors
    /// When the request cannot be sent.
    pub fn begin(&mut self, request: &Request<'_>) -> Result<InFlight, Failure> {
        self.start(request.post, &request.url, request.headers, request.body)
    }

    /// The answer to `request`, begun as `first`, after redirects and retries.
    ///
    /// # Errors
    /// A connection error when the request could not be sent or answered.
    pub fn finish(&mut self, request: &Request<'_>, first: InFlight) -> Result<Response, Failure> {
        let mut attempt = 1;
        let mut first = Some(first);
        loop {
            let response = self.follow(request, first.take())?;
            let retryable =
                response.status == 429 || matches!(response.status, 500 | 502 | 503 | 504);
            if !retryable || attempt >= self.retries.max_attempts {
                return Ok(response);
            }
            let wait = response
                .header("retry-after")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(self.retries.backoff * f64::from(1u32 << (attempt - 1).min(16)))
                .clamp(0.0, MAX_WAIT_SECS);
            log::warn(&format!(
                "{} answered {}; attempt {attempt} of {}, retrying in {wait:.2} s",
                response.url.shown(),
                response.status,
                self.retries.max_attempts
            ));
            sleep(wait);
            attempt += 1;
        }
    }

    /// One attempt, with its redirects; `first` is the attempt's first request when it was
    /// begun already.
    fn follow(
        &mut self,
        request: &Request<'_>,
        first: Option<InFlight>,
    ) -> Result<Response, Failure> {
        let mut url = request.url.clone();
        let mut post = request.post;
        let mut headers = request.headers.to_vec();
        let mut first = first;
        for _ in 0..=MAX_REDIRECTS {
            let body = if post { request.body } else { None };
            let in_flight = match first.take() {
                Some(in_flight) => in_flight,
                None => self.start(post, &url, &headers, body)?,
            };
            let response = self.complete(in_flight)?;
            let location = response.header("location");
            let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
            let (true, Some(location)) = (redirect, location) else {
                return Ok(response);
            };
            let next = url.join(location).ok_or_else(|| {
                Failure::data(format!(
                    "{} redirected to `{location}`, which is not an http(s) URL",
                    url.shown()
                ))
            })?;
            if next.authority != url.authority || next.https != url.https {
                // Credentials stay with the origin they were given for.
                headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
            }
            if response.status == 303 || (post && matches!(response.status, 301 | 302)) {
                post = false;
            }
            url = next;
        }
        Err(Failure::data(format!(
            "{} redirected more than {MAX_REDIRECTS} times",
            request.url.shown()
        )))
    }

    fn pace(&mut self) {
        let wait = pause(self.interval, self.last_start, monotonic_clock::now());
        if wait > 0 {
            monotonic_clock::subscribe_duration(wait).block();
        }
        self.last_start = Some(monotonic_clock::now());
    }

    /// Sends one request (no redirects, no retries) and returns without waiting.
    fn start(
        &mut self,
        post: bool,
        url: &Url,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Result<InFlight, Failure> {
        self.pace();
        let failed = |e: ErrorCode| transport_failure(url, e);
        let mut fields: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        if let Some(body) = body {
            fields.push(("content-length".into(), body.len().to_string().into_bytes()));
        }
        let fields = Fields::from_list(&fields).map_err(|e| {
            Failure::config(format!(
                "a header for {} is not allowed: {e:?}",
                url.shown()
            ))
        })?;
        let outgoing = OutgoingRequest::new(fields);
        let invalid = || Failure::config(format!("{} is not a URL hygge can request", url.shown()));
        outgoing
            .set_method(if post { &Method::Post } else { &Method::Get })
            .map_err(|()| invalid())?;
        outgoing
            .set_scheme(Some(if url.https {
                &Scheme::Https
            } else {
                &Scheme::Http
            }))
            .map_err(|()| invalid())?;
        outgoing
            .set_authority(Some(&url.authority))
            .map_err(|()| invalid())?;
        outgoing
            .set_path_with_query(Some(&url.path_and_query))
            .map_err(|()| invalid())?;
        let outgoing_body = outgoing
            .body()
            .map_err(|()| Failure::internal("the request body was taken twice"))?;
        let future = outgoing_handler::handle(outgoing, None).map_err(failed)?;
        {
            let stream = outgoing_body
                .write()
                .map_err(|()| Failure::internal("the request body stream was taken twice"))?;
            if let Some(body) = body {
                for chunk in body.as_bytes().chunks(4096) {
                    stream.blocking_write_and_flush(chunk).map_err(|e| {
                        Failure::connection(format!("sending to {} failed: {e:?}", url.shown()))
                    })?;
                }
            }
        }
        OutgoingBody::finish(outgoing_body, None).map_err(failed)?;
        Ok(InFlight {
            url: url.clone(),
            future,
        })
    }

    /// Waits for a request's answer and reads it whole.
    fn complete(&mut self, in_flight: InFlight) -> Result<Response, Failure> {
        let InFlight { url, future } = in_flight;
        let failed = |e: ErrorCode| transport_failure(&url, e);
        future.subscribe().block();
        let incoming = future
            .get()
            .ok_or_else(|| Failure::internal("the response was not ready after waiting for it"))?
            .map_err(|()| Failure::internal("the response was taken twice"))?
            .map_err(failed)?;
        let status = incoming.status();
        let headers = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let body = incoming
            .consume()
            .map_err(|()| Failure::internal("the response body was taken twice"))?;
        let bytes = read_body(&body, &url)?;
        drop(incoming);
        let _trailers = IncomingBody::finish(body);
        Ok(Response {
            url,
            status,
            headers,
            body: bytes,
        })
    }
}

/// A request sent, its answer not yet read.
pub struct InFlight {
    url: Url,
    future: FutureIncomingResponse,
}

fn read_body(body: &IncomingBody, url: &Url) -> Result<Vec<u8>, Failure> {
    let stream = body
        .stream()
        .map_err(|()| Failure::internal("the response body stream was taken twice"))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(256 << 10) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(bytes),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(Failure::connection(format!(
                    "reading the answer of {} failed: {}",
                    url.shown(),
                    e.to_debug_string()
                )));
            }
        }
    }
}

/// What a `wasi:http` error code means for the flow.
fn transport_failure(url: &Url, code: ErrorCode) -> Failure {
    let shown = url.shown();
    match code {
        ErrorCode::HttpRequestDenied => Failure::config(format!(
            "the host refused the request to {shown}: it is outside the component's grant"
        )),
        ErrorCode::HttpResponseBodySize(_) => Failure::data(format!(
            "the answer of {shown} is larger than the response_limit"
        )),
        other => Failure::connection(format!("requesting {shown} failed: {other}")),
    }
}

/// Waits `seconds`.
pub fn sleep(seconds: f64) {
    if seconds > 0.0 {
        monotonic_clock::subscribe_duration((seconds * 1e9) as u64).block();
    }
}

/// Nanoseconds to wait at `now` so that a request starts at least `interval` after the one
/// that started at `last_start`.
fn pause(interval: Option<u64>, last_start: Option<u64>, now: u64) -> u64 {
    match (interval, last_start) {
        (Some(interval), Some(last)) => last.saturating_add(interval).saturating_sub(now),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_spaces_request_starts_by_its_interval() {
        let client = Client::new(Retries::default(), Some(10.0));
        assert_eq!(client.interval, Some(100_000_000));
        assert_eq!(Client::new(Retries::default(), None).interval, None);
        assert_eq!(pause(Some(100), Some(1_000), 1_030), 70);
        assert_eq!(pause(Some(100), Some(1_000), 1_100), 0);
        assert_eq!(pause(Some(100), Some(1_000), 5_000), 0);
        assert_eq!(pause(Some(100), None, 5), 0);
        assert_eq!(pause(None, Some(1_000), 1_001), 0);
    }
}
