//! The little URL handling the connector needs: splitting an absolute http(s) URL, joining
//! an endpoint or a `next` link to the URL it came from, adding query parameters, and
//! writing a URL for messages without its query (where API keys may sit).
//!
//! Hand-written rather than the `url` crate: the connector only ever sees http(s) URLs it
//! built itself or that an API sent back, and `url` brings IDNA tables into the component.

/// An absolute http(s) URL, split the way `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https` or `http`.
    pub https: bool,
    /// `host` or `host:port`.
    pub authority: String,
    /// The path and query, starting with `/`.
    pub path_and_query: String,
}

impl Url {
    /// Parses an absolute http(s) URL; the fragment is dropped.
    pub fn parse(text: &str) -> Option<Url> {
        let (https, rest) = if let Some(rest) = strip_prefix_ci(text, "https://") {
            (true, rest)
        } else {
            (false, strip_prefix_ci(text, "http://")?)
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let tail = &rest[end..];
        let path_and_query = if tail.starts_with('/') {
            tail.to_string()
        } else {
            format!("/{tail}")
        };
        Some(Url {
            https,
            authority: authority.to_ascii_lowercase(),
            path_and_query,
        })
    }

    /// `reference` (an absolute URL, `/path`, `?query` or a relative path) taken from this
    /// URL, as a browser would.
    pub fn join(&self, reference: &str) -> Option<Url> {
        let reference = reference.trim();
        if reference.contains("://") {
            return Url::parse(reference);
        }
        if let Some(rest) = reference.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme()));
        }
        let path_and_query = if reference.starts_with('/') {
            reference.to_string()
        } else if reference.starts_with('?') {
            format!("{}{reference}", self.path())
        } else {
            let path = self.path();
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{reference}")
        };
        Some(Url {
            https: self.https,
            authority: self.authority.clone(),
            path_and_query: remove_dot_segments(&path_and_query),
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// The path alone.
    pub fn path(&self) -> &str {
        self.path_and_query
            .split('?')
            .next()
            .unwrap_or(&self.path_and_query)
    }

    /// The URL with `params` added to its query (values percent-encoded).
    pub fn with_params<'a>(&self, params: impl IntoIterator<Item = (&'a str, String)>) -> Url {
        let mut path_and_query = self.path_and_query.clone();
        for (name, value) in params {
            path_and_query.push(if path_and_query.contains('?') {
                '&'
            } else {
                '?'
            });
            path_and_query.push_str(&encode(name));
            path_and_query.push('=');
            path_and_query.push_str(&encode(&value));
        }
        Url {
            path_and_query,
            ..self.clone()
        }
    }

    /// The URL without its query, for messages and logs: a query may hold an API key.
    pub fn shown(&self) -> String {
        let query = if self.path_and_query.contains('?') {
            "?…"
        } else {
            ""
        };
        format!(
            "{}://{}{}{query}",
            self.scheme(),
            self.authority,
            self.path()
        )
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme(),
            self.authority,
            self.path_and_query
        )
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &text[prefix.len()..])
}

/// RFC 3986's remove_dot_segments on the path; the query is kept as it is.
fn remove_dot_segments(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s),
        }
        let last = i + 1 == segments.len();
        if last && (*segment == "." || *segment == "..") {
            out.push("");
        }
    }
    let mut joined = out.join("/");
    if !joined.starts_with('/') {
        joined.insert(0, '/');
    }
    match query {
        Some(q) => format!("{joined}?{q}"),
        None => joined,
    }
}

/// Percent-encodes a query component: everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The value of `name` in `url`'s query, decoded, if it is there.
#[cfg(test)]
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    let query = url.path_and_query.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key) == name).then(|| decode(value))
    })
}

#[cfg(test)]
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn absolute_urls_split_into_scheme_authority_and_path() {
        let u = url("HTTPS://API.example.com:8443/v2/items?page=2#top");
        assert!(u.https);
        assert_eq!(u.authority, "api.example.com:8443");
        assert_eq!(u.path_and_query, "/v2/items?page=2");
        assert_eq!(url("http://h").path_and_query, "/");
        assert_eq!(url("http://h?x=1").path_and_query, "/?x=1");
        assert!(Url::parse("ftp://h/").is_none());
        assert!(Url::parse("https://user:pw@h/").is_none());
    }

    #[test]
    fn references_join_as_a_browser_joins_them() {
        let base = url("https://api.example.com/v2/");
        assert_eq!(
            base.join("items").unwrap().to_string(),
            "https://api.example.com/v2/items"
        );
        let page = url("https://api.example.com/v2/items?page=1");
        assert_eq!(
            page.join("?page=2").unwrap().to_string(),
            "https://api.example.com/v2/items?page=2"
        );
        assert_eq!(
            page.join("/v3/x").unwrap().to_string(),
            "https://api.example.com/v3/x"
        );
        assert_eq!(
            page.join("../v1/x").unwrap().to_string(),
            "https://api.example.com/v1/x"
        );
        assert_eq!(page.join("http://other/x").unwrap().authority, "other");
        assert_eq!(
            page.join("//cdn.example.com/a").unwrap().to_string(),
            "https://cdn.example.com/a"
        );
    }

    #[test]
    fn params_are_encoded_and_read_back() {
        let u =
            url("http://h/a?x=1").with_params([("since", "2026-01-01T00:00:00+00:00".to_string())]);
        assert_eq!(
            u.path_and_query,
            "/a?x=1&since=2026-01-01T00%3A00%3A00%2B00%3A00"
        );
        assert_eq!(
            query_param(&u, "since").as_deref(),
            Some("2026-01-01T00:00:00+00:00")
        );
        assert_eq!(u.shown(), "http://h/a?…");
    }
}
