//! The reader resource: pages fetched on demand, records flattened, decoded to Arrow a page
//! at a time against the schema inferred from the first `sample_size` records, and handed
//! to the host about `batch_size` rows at a time. At most the sample and one batch are held.

use std::cell::RefCell;
use std::collections::VecDeque;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use hygge_component_sdk::types::{Error, ReadRequest};

use crate::exports::hygge::connector::home::{GuestReader, Reader};
use hygge_component_sdk::{Failure, encode_batch, encode_schema, parse_config};
use hygge_rest_config::RestConfig;
use serde_json::{Map, Value};

use crate::auth::Authenticator;
use crate::http::{Client, InFlight, Request};
use crate::log;
use crate::pages::Pages;
use crate::records::{flatten, records_of};
use crate::schema::{decode, infer};
use crate::url::Url;

const DEFAULT_BATCH_SIZE: usize = 10_000;
const DEFAULT_SAMPLE_SIZE: usize = 1_000;

/// An open REST home.
pub struct RestReader {
    state: RefCell<State>,
}

/// One fetched page: its name for messages and its flat records.
struct Page {
    label: String,
    records: Vec<Map<String, Value>>,
}

/// The next page's request, sent while the current page is decoded.
struct Prefetch {
    /// The page's URL as the walk gave it (before credentials).
    page: Url,
    /// The URL and headers as sent.
    url: Url,
    headers: Vec<(String, String)>,
    in_flight: InFlight,
}

struct State {
    config: RestConfig,
    prefetch: Option<Prefetch>,
    client: Client,
    auth: Authenticator,
    pages: Pages,
    next_url: Option<Url>,
    /// Pages fetched but not yet decoded (the sample, at the start).
    fetched: VecDeque<Page>,
    schema: SchemaRef,
    /// Requested columns, as indices into `schema`.
    projection: Option<Vec<usize>>,
    decoded: Vec<RecordBatch>,
    decoded_rows: usize,
    batch_size: usize,
    sample_size: usize,
}

impl GuestReader for RestReader {
    fn open(config: String, request: ReadRequest) -> Result<Reader, Error> {
        Ok(Reader::new(RestReader {
            state: RefCell::new(State::open(&config, &request)?),
        }))
    }

    fn schema(&self) -> Result<Vec<u8>, Error> {
        let state = self.state.borrow();
        let schema = match &state.projection {
            Some(indices) => state
                .schema
                .project(indices)
                .map_err(|e| Failure::internal(format!("cannot project the schema: {e}")))?,
            None => state.schema.as_ref().clone(),
        };
        Ok(encode_schema(&schema)?)
    }

    fn next_batch(&self) -> Result<Option<Vec<u8>>, Error> {
        let mut state = self.state.borrow_mut();
        Ok(match state.next_batch()? {
            Some(batch) => Some(encode_batch(&batch)?),
            None => None,
        })
    }
}

/// The endpoint's URL: `endpoint` under `base_url`, or `endpoint` itself when absolute.
fn endpoint_url(config: &RestConfig) -> Result<Url, Failure> {
    let endpoint = config.endpoint.trim();
    let joined = if endpoint.contains("://") {
        endpoint.to_string()
    } else if endpoint.is_empty() {
        config.base_url.clone()
    } else {
        format!(
            "{}/{}",
            config.base_url.trim_end_matches('/'),
            endpoint.trim_start_matches('/')
        )
    };
    Url::parse(&joined).ok_or_else(|| {
        Failure::config(format!(
            "base_url + endpoint gives `{joined}`, which is not an http(s) URL"
        ))
    })
}

impl State {
    fn open(json: &str, request: &ReadRequest) -> Result<State, Failure> {
        let config: RestConfig = parse_config(json)?;
        config
            .check()
            .map_err(|p| Failure::config(format!("{}: {}", p.key, p.message)))?;
        let mut params: Vec<(&str, String)> = config
            .params
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (name.as_str(), text)
            })
            .collect();
        match (&request.watermark, &config.watermark_param) {
            (Some(watermark), Some(param)) => {
                log::info(&format!(
                    "incremental: asking for records after {} = {} through `{param}`",
                    watermark.column, watermark.after
                ));
                params.push((param.as_str(), watermark.after.clone()));
            }
            (Some(_), None) => log::info(
                "incremental: no `watermark_param`, so every page is read and the host keeps the new rows",
            ),
            _ => {}
        }
        let base = endpoint_url(&config)?.with_params(params);
        let mut pages = Pages::new(config.pagination.clone(), base);
        let first = pages.first();
        let batch_size = config
            .batch_size
            .unwrap_or(request.batch_size as usize)
            .max(1);
        let sample_size = config.sample_size.unwrap_or(DEFAULT_SAMPLE_SIZE);
        let mut state = State {
            prefetch: None,
            client: Client::new(
                config.retries,
                config.rate_limit.map(|r| r.requests_per_second),
            ),
            auth: Authenticator::new(config.auth.clone()),
            pages,
            next_url: Some(first),
            fetched: VecDeque::new(),
            schema: SchemaRef::new(arrow_schema::Schema::empty()),
            projection: None,
            decoded: Vec::new(),
            decoded_rows: 0,
            batch_size: if request.batch_size == 0 {
                DEFAULT_BATCH_SIZE
            } else {
                batch_size
            },
            sample_size,
            config,
        };
        let mut sampled = 0;
        while sampled < sample_size && state.next_url.is_some() {
            let page = state.fetch()?;
            sampled += page.records.len();
            state.fetched.push_back(page);
        }
        let sample: Vec<Map<String, Value>> = state
            .fetched
            .iter()
            .flat_map(|p| p.records.iter())
            .take(sample_size)
            .cloned()
            .collect();
        state.schema = infer(&sample, &state.config.schema)?;
        if let Some(columns) = &request.columns {
            let indices = columns
                .iter()
                .map(|name| {
                    state.schema.index_of(name).map_err(|_| {
                        let known: Vec<&str> =
                            state.schema.fields().iter().map(|f| f.name().as_str()).collect();
                        Failure::config(format!(
                            "column `{name}` is not among the API's fields ({}); name its type under `schema:` if it appears only later",
                            known.join(", ")
                        ))
                    })
                })
                .collect::<Result<Vec<usize>, Failure>>()?;
            state.projection = Some(indices);
        }
        Ok(state)
    }

    /// Fetches the page at `next_url` and works out the one after it.
    fn fetch(&mut self) -> Result<Page, Failure> {
        let Some(url) = self.next_url.take() else {
            return Err(Failure::internal("no page left to fetch"));
        };
        let label = format!("page {} ({})", self.pages.count, url.shown());
        let mut response = match self.prefetch.take() {
            Some(prefetch) if prefetch.page == url => self.client.finish(
                &Request {
                    post: false,
                    url: prefetch.url,
                    headers: &prefetch.headers,
                    body: None,
                },
                prefetch.in_flight,
            )?,
            _ => self.request(&url)?,
        };
        if response.status == 401 && self.auth.forget_token() {
            response = self.request(&url)?;
        }
        check_status(&response, &label, self.config.retries.max_attempts)?;
        let mut body: Value = if response.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&response.body).map_err(|e| {
                Failure::data(format!(
                    "{label} is not valid JSON at byte {}: {e}",
                    byte_offset(&response.body, e.line(), e.column())
                ))
            })?
        };
        let records = records_of(&mut body, self.config.records.as_deref(), &label)?;
        let count = records.len();
        let records: Vec<Map<String, Value>> = records
            .into_iter()
            .map(|r| flatten(r, self.config.flatten.max_depth))
            .collect();
        let reached_max = self
            .config
            .max_pages
            .is_some_and(|max| self.pages.count >= max);
        self.next_url = if reached_max {
            log::info(&format!(
                "stopping after {} pages (max_pages)",
                self.pages.count
            ));
            None
        } else {
            self.pages.next(&response, &body, count, &label)?
        };
        // The next page travels while this one is flattened and decoded.
        if let Some(next) = self.next_url.clone() {
            let (url, headers) = self.prepared(&next)?;
            let in_flight = self.client.begin(&Request {
                post: false,
                url: url.clone(),
                headers: &headers,
                body: None,
            })?;
            self.prefetch = Some(Prefetch {
                page: next,
                url,
                headers,
                in_flight,
            });
        }
        Ok(Page { label, records })
    }

    /// The URL and headers of a request for page `url`, credentials included.
    fn prepared(&mut self, url: &Url) -> Result<(Url, Vec<(String, String)>), Failure> {
        let mut headers: Vec<(String, String)> = self
            .config
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            headers.push(("accept".into(), "application/json".into()));
        }
        let url = self
            .auth
            .apply(&mut self.client, url.clone(), &mut headers)?;
        Ok((url, headers))
    }

    fn request(&mut self, url: &Url) -> Result<crate::http::Response, Failure> {
        let (url, headers) = self.prepared(url)?;
        self.client.send(&Request {
            post: false,
            url,
            headers: &headers,
            body: None,
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, Failure> {
        loop {
            if self.decoded_rows >= self.batch_size {
                return self.emit().map(Some);
            }
            if let Some(page) = self.fetched.pop_front() {
                let batch = decode(&self.schema, &page.records, &page.label, self.sample_size)?;
                self.decoded_rows += batch.num_rows();
                self.decoded.push(batch);
                continue;
            }
            if self.next_url.is_some() {
                let page = self.fetch()?;
                self.fetched.push_back(page);
                continue;
            }
            if self.decoded_rows > 0 {
                return self.emit().map(Some);
            }
            return Ok(None);
        }
    }

    fn emit(&mut self) -> Result<RecordBatch, Failure> {
        let batches = std::mem::take(&mut self.decoded);
        self.decoded_rows = 0;
        let batch = arrow_select::concat::concat_batches(&self.schema, &batches)
            .map_err(|e| Failure::internal(format!("cannot join the pages' batches: {e}")))?;
        match &self.projection {
            Some(indices) => batch
                .project(indices)
                .map_err(|e| Failure::internal(format!("cannot project a batch: {e}"))),
            None => Ok(batch),
        }
    }
}

/// Fails on an answer that is not a success, by what it means.
fn check_status(
    response: &crate::http::Response,
    label: &str,
    attempts: u32,
) -> Result<(), Failure> {
    let status = response.status;
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(Failure::auth(format!(
            "{label} answered {status}: {}; check `auth:` and the credentials it names",
            response.snippet()
        ))),
        404 => Err(Failure::config(format!(
            "{label} answered 404 Not Found; check `base_url` and `endpoint`"
        ))),
        429 | 500..=599 => Err(Failure::connection(format!(
            "{label} still answered {status} after {attempts} attempts: {}",
            response.snippet()
        ))),
        _ => Err(Failure::config(format!(
            "{label} answered {status}: {}; check `params`, `headers` and `pagination`",
            response.snippet()
        ))),
    }
}

/// The byte offset of 1-based `line` and `column` in `body`.
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = body
        .split(|b| *b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    line_start + column.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_count_from_zero_across_lines() {
        let body = b"{\n  \"a\": [1,\n  x]}";
        let error = serde_json::from_slice::<Value>(body).unwrap_err();
        let offset = byte_offset(body, error.line(), error.column());
        assert_eq!(body[offset], b'x');
    }
}
