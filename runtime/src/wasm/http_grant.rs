//! The `http` part of a component's grant: which origins (scheme, host, port, and an
//! optional path prefix) it may send requests to. Every request is checked against it in
//! the host before a connection is made; nothing else is reachable.

use std::fmt;
use std::net::IpAddr;

/// One entry of `allow: http:`, such as `https://api.example.com` or
/// `http://127.0.0.1:8080/v1/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOrigin {
    https: bool,
    host: Host,
    port: u16,
    /// `None` grants every path of the origin.
    path_prefix: Option<String>,
    /// As the user wrote it, for messages.
    written: String,
}

/// A host name (lower case) or an IP address: an IP literal matches only the same address,
/// never a name that resolves to it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    fn parse(text: &str) -> Host {
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(text.to_ascii_lowercase().trim_end_matches('.').to_string()),
        }
    }
}

impl HttpOrigin {
    /// Parses an allow-list entry: `http` or `https`, a host, an optional port, an optional
    /// path prefix. Nothing else (no user info, query or fragment).
    ///
    /// # Errors
    /// What is wrong with the entry, for a config error.
    pub fn parse(entry: &str) -> Result<HttpOrigin, String> {
        let uri: http::Uri = entry
            .parse()
            .map_err(|e| format!("`{entry}` is not a URL ({e})"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(other) => {
                return Err(format!(
                    "`{entry}`: only http and https can be granted, not {other}"
                ));
            }
            None => {
                return Err(format!(
                    "`{entry}` needs its scheme, such as https://{entry}"
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{entry}` names no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "`{entry}`: a grant names an origin, not credentials; put those in the config"
            ));
        }
        if uri.query().is_some() {
            return Err(format!("`{entry}`: a grant cannot hold a query"));
        }
        let path = uri.path();
        let path_prefix = (!path.is_empty() && path != "/").then(|| path.to_string());
        if path_prefix.as_deref().is_some_and(has_dot_segment) {
            return Err(format!("`{entry}`: a path prefix cannot hold `.` or `..`"));
        }
        Ok(HttpOrigin {
            https,
            host: Host::parse(authority.host()),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            path_prefix,
            written: entry.to_string(),
        })
    }

    /// The origin of `url` alone (scheme, host, port), without its path: what the REST
    /// connector grants for its `base_url`.
    ///
    /// # Errors
    /// What is wrong with the URL.
    pub fn origin_of(url: &str) -> Result<HttpOrigin, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("`{url}` is not a URL ({e})"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(format!(
                "`{url}` needs a scheme and a host, such as https://api.example.com/"
            ));
        };
        let host = authority.as_str().rsplit('@').next().unwrap_or_default();
        HttpOrigin::parse(&format!("{scheme}://{host}"))
    }

    /// Whether `uri` lies inside this entry.
    fn admits(&self, uri: &http::Uri) -> bool {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return false,
        };
        let Some(authority) = uri.authority() else {
            return false;
        };
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        if https != self.https || port != self.port || Host::parse(authority.host()) != self.host {
            return false;
        }
        match &self.path_prefix {
            None => true,
            Some(prefix) => {
                let path = uri.path();
                let base = prefix.trim_end_matches('/');
                !has_dot_segment(path)
                    && (path == base
                        || path
                            .strip_prefix(base)
                            .is_some_and(|rest| rest.starts_with('/')))
            }
        }
    }
}

impl fmt::Display for HttpOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// A path segment of `.` or `..`, written plainly or percent-encoded: a server would resolve
/// it and leave the granted prefix.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// The whole `http` grant: deny by default, each origin explicit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpGrant {
    origins: Vec<HttpOrigin>,
}

impl HttpGrant {
    /// Adds `origin`, unless it is granted already.
    pub fn allow(&mut self, origin: HttpOrigin) {
        if !self.origins.contains(&origin) {
            self.origins.push(origin);
        }
    }

    /// Whether anything is granted: only then is `wasi:http` linked.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Whether a request to `uri` may be sent.
    pub fn admits(&self, uri: &http::Uri) -> bool {
        self.origins.iter().any(|origin| origin.admits(uri))
    }

    /// The entries, as written, for messages and `hygge debug`.
    pub fn describe(&self) -> String {
        if self.origins.is_empty() {
            return "no network".into();
        }
        let listed: Vec<String> = self.origins.iter().map(ToString::to_string).collect();
        format!("http: {}", listed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn grant(entries: &[&str]) -> HttpGrant {
        let mut grant = HttpGrant::default();
        for entry in entries {
            grant.allow(HttpOrigin::parse(entry).unwrap());
        }
        grant
    }

    fn admits(grant: &HttpGrant, url: &str) -> bool {
        grant.admits(&url.parse().unwrap())
    }

    #[test]
    fn an_origin_admits_only_its_scheme_host_and_port() {
        let g = grant(&["https://api.example.com"]);
        assert!(admits(&g, "https://api.example.com/v2/items?page=2"));
        assert!(admits(&g, "https://API.example.com:443/"));
        assert!(!admits(&g, "http://api.example.com/"));
        assert!(!admits(&g, "https://api.example.com:8443/"));
        assert!(!admits(&g, "https://evil.example.com/"));
        assert!(!admits(&g, "https://api.example.com.evil.net/"));
    }

    #[test]
    fn an_ip_literal_admits_that_address_and_no_name() {
        let g = grant(&["http://127.0.0.1:8080"]);
        assert!(admits(&g, "http://127.0.0.1:8080/x"));
        assert!(!admits(&g, "http://localhost:8080/x"));
        assert!(!admits(&g, "http://127.0.0.2:8080/x"));
        assert!(!admits(&g, "http://[::1]:8080/x"));
        let v6 = grant(&["http://[::1]:9000"]);
        assert!(admits(&v6, "http://[::1]:9000/"));
        assert!(!admits(
            &grant(&["https://api.example.com"]),
            "https://93.184.215.14/"
        ));
    }

    #[test]
    fn a_path_prefix_admits_its_subtree_and_no_sibling_or_escape() {
        let g = grant(&["http://127.0.0.1:8080/v1/"]);
        assert!(admits(&g, "http://127.0.0.1:8080/v1/items"));
        assert!(admits(&g, "http://127.0.0.1:8080/v1"));
        assert!(!admits(&g, "http://127.0.0.1:8080/v10/items"));
        assert!(!admits(&g, "http://127.0.0.1:8080/admin"));
        assert!(!admits(&g, "http://127.0.0.1:8080/v1/../admin"));
        assert!(!admits(&g, "http://127.0.0.1:8080/v1/%2E%2e/admin"));
        let bare = grant(&["http://127.0.0.1:8080/v1"]);
        assert!(admits(&bare, "http://127.0.0.1:8080/v1/items"));
        assert!(!admits(&bare, "http://127.0.0.1:8080/v1x"));
    }

    #[test]
    fn entries_that_are_not_origins_are_refused_with_the_reason() {
        for (entry, says) in [
            ("api.example.com", "needs its scheme"),
            ("ftp://example.com", "only http and https"),
            ("https://user:pw@example.com", "not credentials"),
            ("https://example.com/?a=1", "query"),
            ("https://example.com/a/../b", "`.` or `..`"),
        ] {
            let error = HttpOrigin::parse(entry).unwrap_err();
            assert!(error.contains(says), "{entry}: {error}");
        }
    }

    #[test]
    fn the_origin_of_a_base_url_drops_its_path_and_credentials() {
        let origin = HttpOrigin::origin_of("https://me:secret@api.example.com/v2/").unwrap();
        let mut g = HttpGrant::default();
        g.allow(origin);
        assert!(admits(&g, "https://api.example.com/oauth/token"));
        assert!(!g.describe().contains("secret"));
        assert!(HttpOrigin::origin_of("/relative").is_err());
    }
}
