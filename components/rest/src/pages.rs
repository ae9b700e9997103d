//! Walking an endpoint's pages: the next URL from the answer, by the configured style, and
//! the end where the API signals it. A page whose link or cursor repeats an earlier one is
//! an error, never a loop.

use std::collections::HashSet;

use hygge_component_sdk::Failure;
use hygge_rest_config::Pagination;
use serde_json::Value;

use crate::http::Response;
use crate::records::at_path;
use crate::url::Url;

/// Where the walk is.
pub struct Pages {
    style: Pagination,
    /// The endpoint with its fixed parameters, before any paging parameter.
    base: Url,
    /// Offset or page number of the page last asked for.
    position: u64,
    /// Every URL asked for so far.
    visited: HashSet<String>,
    last_cursor: Option<String>,
    /// Pages asked for so far.
    pub count: u64,
}

impl Pages {
    /// A walk over `base` in `style`.
    pub fn new(style: Pagination, base: Url) -> Pages {
        let position = match &style {
            Pagination::Offset { start, .. } | Pagination::PageNumber { start, .. } => *start,
            _ => 0,
        };
        Pages {
            style,
            base,
            position,
            visited: HashSet::new(),
            last_cursor: None,
            count: 0,
        }
    }

    /// The first page's URL.
    pub fn first(&mut self) -> Url {
        let url = match &self.style {
            Pagination::Offset { .. } | Pagination::PageNumber { .. } => self.paged(self.position),
            _ => self.base.clone(),
        };
        self.visit(&url);
        url
    }

    fn visit(&mut self, url: &Url) {
        self.count += 1;
        self.visited.insert(url.to_string());
    }

    /// The URL of the page at `position` (an offset or a page number).
    fn paged(&self, position: u64) -> Url {
        match &self.style {
            Pagination::Offset {
                limit,
                offset_param,
                limit_param,
                ..
            } => self.base.with_params([
                (offset_param.as_str(), position.to_string()),
                (limit_param.as_str(), limit.to_string()),
            ]),
            Pagination::PageNumber {
                page_param,
                page_size,
                page_size_param,
                ..
            } => {
                let mut params = vec![(page_param.as_str(), position.to_string())];
                if let (Some(size), Some(param)) = (page_size, page_size_param) {
                    params.push((param.as_str(), size.to_string()));
                }
                self.base.with_params(params)
            }
            _ => self.base.clone(),
        }
    }

    /// The next page's URL after `response` (whose body is `body`, holding `records`
    /// records), or `None` at the end. `page` names the page in messages.
    ///
    /// # Errors
    /// A data error when the next link or cursor repeats an earlier one, or is not a URL.
    pub fn next(
        &mut self,
        response: &Response,
        body: &Value,
        records: usize,
        page: &str,
    ) -> Result<Option<Url>, Failure> {
        let next = match &self.style {
            Pagination::None => None,
            Pagination::Auto => match link_next(response) {
                Some(link) => Some(self.join(response, &link, page)?),
                None => match body.get("next") {
                    Some(Value::String(link)) if !link.is_empty() => {
                        Some(self.join(response, link, page)?)
                    }
                    _ => None,
                },
            },
            Pagination::LinkHeader => match link_next(response) {
                Some(link) => Some(self.join(response, &link, page)?),
                None => None,
            },
            Pagination::JsonLink { next } => match at_path(body, next) {
                Some(Value::String(link)) if !link.is_empty() => {
                    Some(self.join(response, link, page)?)
                }
                _ => None,
            },
            Pagination::Offset { limit, total, .. } => {
                let total = total.as_deref().and_then(|p| number_at(body, p));
                let next = self.position + limit;
                if records == 0
                    || (total.is_none() && (records as u64) < *limit)
                    || total.is_some_and(|t| next >= t)
                {
                    None
                } else {
                    self.position = next;
                    Some(self.paged(next))
                }
            }
            Pagination::PageNumber {
                page_size,
                total_pages,
                ..
            } => {
                let pages = total_pages.as_deref().and_then(|p| number_at(body, p));
                let short = page_size.is_some_and(|size| (records as u64) < size);
                if records == 0 || short || pages.is_some_and(|p| self.position >= p) {
                    None
                } else {
                    self.position += 1;
                    Some(self.paged(self.position))
                }
            }
            Pagination::Cursor {
                cursor,
                cursor_param,
            } => {
                let value = match at_path(body, cursor) {
                    Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                match value {
                    None => None,
                    Some(value) => {
                        if self.last_cursor.as_deref() == Some(value.as_str()) {
                            return Err(Failure::data(format!(
                                "{page} gives the same cursor `{value}` as the page before it; the API would loop, so the read stops here"
                            )));
                        }
                        self.last_cursor = Some(value.clone());
                        Some(self.base.with_params([(cursor_param.as_str(), value)]))
                    }
                }
            }
        };
        let Some(next) = next else {
            return Ok(None);
        };
        if self.visited.contains(&next.to_string()) {
            return Err(Failure::data(format!(
                "{page} links to {}, a page already read; the API would loop, so the read stops here",
                next.shown()
            )));
        }
        self.visit(&next);
        Ok(Some(next))
    }

    fn join(&self, response: &Response, link: &str, page: &str) -> Result<Url, Failure> {
        response.url.join(link).ok_or_else(|| {
            Failure::data(format!(
                "{page} links to `{link}`, which is not an http(s) URL"
            ))
        })
    }
}

fn number_at(body: &Value, path: &str) -> Option<u64> {
    match at_path(body, path)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `rel="next"` target of the response's `Link` headers (RFC 8288).
pub fn link_next(response: &Response) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("link"))
        .flat_map(|(_, value)| split_links(value))
        .find_map(|(target, params)| {
            params
                .split(';')
                .filter_map(|p| p.split_once('='))
                .any(|(key, value)| {
                    key.trim().eq_ignore_ascii_case("rel")
                        && value
                            .trim()
                            .trim_matches('"')
                            .split_ascii_whitespace()
                            .any(|rel| rel.eq_ignore_ascii_case("next"))
                })
                .then_some(target)
        })
}

/// `<a>; rel="next", <b>; rel="prev"` as `(target, params)` pairs; commas inside `<…>`
/// are part of the target.
fn split_links(value: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = rest[open + 1..open + close].to_string();
        let after = &rest[open + close + 1..];
        let end = after
            .find(",")
            .and_then(|comma| after[comma..].find('<').map(|lt| comma + lt));
        let params = after[..end.unwrap_or(after.len())]
            .trim_end_matches([',', ' '])
            .to_string();
        links.push((target, params));
        rest = &after[end.unwrap_or(after.len())..];
    }
    links
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn response(url: &str, headers: &[(&str, &str)]) -> Response {
        Response {
            url: Url::parse(url).unwrap(),
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn link_headers_are_read_as_rfc_8288_writes_them() {
        let r = response(
            "http://h/a",
            &[(
                "link",
                "<http://h/a?p=1,2>; rel=\"prev\", <http://h/a?p=3>; rel=\"next\"",
            )],
        );
        assert_eq!(link_next(&r).as_deref(), Some("http://h/a?p=3"));
        let r = response("http://h/a", &[("Link", "</a?p=2>; rel=\"next last\"")]);
        assert_eq!(link_next(&r).as_deref(), Some("/a?p=2"));
        assert_eq!(
            link_next(&response("http://h/a", &[("link", "<x>; rel=prev")])),
            None
        );
    }

    #[test]
    fn offset_pages_end_on_a_short_page_or_the_total() {
        let style = Pagination::Offset {
            limit: 2,
            offset_param: "offset".into(),
            limit_param: "limit".into(),
            start: 0,
            total: Some("meta.total".into()),
        };
        let mut pages = Pages::new(style, Url::parse("http://h/items?x=1").unwrap());
        assert_eq!(
            pages.first().to_string(),
            "http://h/items?x=1&offset=0&limit=2"
        );
        let r = response("http://h/items", &[]);
        let next = pages
            .next(&r, &json!({"meta": {"total": 5}}), 2, "page 1")
            .unwrap();
        assert_eq!(
            next.unwrap().to_string(),
            "http://h/items?x=1&offset=2&limit=2"
        );
        let next = pages
            .next(&r, &json!({"meta": {"total": 5}}), 2, "page 2")
            .unwrap();
        assert_eq!(
            next.unwrap().to_string(),
            "http://h/items?x=1&offset=4&limit=2"
        );
        assert!(
            pages
                .next(&r, &json!({"meta": {"total": 5}}), 1, "page 3")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_repeated_link_or_cursor_is_an_error() {
        let mut pages = Pages::new(Pagination::Auto, Url::parse("http://h/a").unwrap());
        pages.first();
        let r = response("http://h/a", &[]);
        let error = pages
            .next(&r, &json!({"next": "http://h/a"}), 1, "page 1")
            .unwrap_err();
        assert!(error.message.contains("already read"), "{}", error.message);
        let style = Pagination::Cursor {
            cursor: "c".into(),
            cursor_param: "cursor".into(),
        };
        let mut pages = Pages::new(style, Url::parse("http://h/a").unwrap());
        pages.first();
        pages
            .next(&r, &json!({"c": "x"}), 1, "page 1")
            .unwrap()
            .unwrap();
        let error = pages.next(&r, &json!({"c": "x"}), 1, "page 2").unwrap_err();
        assert!(error.message.contains("same cursor"), "{}", error.message);
        assert!(
            pages
                .next(&r, &json!({"c": null}), 1, "page 2")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn page_numbers_stop_at_an_empty_page_or_the_page_count() {
        let style = Pagination::PageNumber {
            page_param: "page".into(),
            start: 1,
            page_size: None,
            page_size_param: None,
            total_pages: Some("pages".into()),
        };
        let mut pages = Pages::new(style, Url::parse("http://h/a").unwrap());
        assert_eq!(pages.first().to_string(), "http://h/a?page=1");
        let r = response("http://h/a", &[]);
        assert_eq!(
            pages
                .next(&r, &json!({"pages": 2}), 3, "p")
                .unwrap()
                .unwrap()
                .to_string(),
            "http://h/a?page=2"
        );
        assert!(
            pages
                .next(&r, &json!({"pages": 2}), 3, "p")
                .unwrap()
                .is_none()
        );
    }
}
