//! The keys of `type: rest_api`, in the shape users of dlt's `rest_api` source know. The
//! host parses them when a project loads (so a mistake names its file and key before any
//! request is sent), derives the component's HTTP grant from `base_url` and the OAuth token
//! URL, fills in `{flow}` and `{entity}`, and hands the result to the component as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A REST API home.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestConfig {
    /// The API's root, such as `https://api.example.com/v2/`; its origin is what the
    /// component may reach.
    pub base_url: String,
    /// The path under `base_url` (`{entity}` and `{flow}` are filled in); an absolute
    /// http(s) URL on the same origin is taken as it is.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Query parameters sent with every page.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Dotted path to the array of records in a page; by default the body itself when it
    /// is an array, else its only array field.
    pub records: Option<String>,
    /// How to authenticate.
    pub auth: Option<Auth>,
    /// How to walk the pages.
    #[serde(default)]
    pub pagination: Pagination,
    /// Incremental runs send the committed watermark as this query parameter.
    pub watermark_param: Option<String>,
    /// At most this many requests a second.
    pub rate_limit: Option<RateLimit>,
    /// Retries of 429 and 5xx answers.
    #[serde(default)]
    pub retries: Retries,
    /// How nested objects become columns.
    #[serde(default)]
    pub flatten: Flatten,
    /// Types of some or all fields (`id: int64`, `amount: "decimal(12,2)"`); the others
    /// are inferred from the first records.
    #[serde(default)]
    pub schema: BTreeMap<String, String>,
    /// Records per batch.
    pub batch_size: Option<usize>,
    /// How many records the schema is inferred from (default 1,000).
    pub sample_size: Option<usize>,
    /// Stops after this many pages (a safety net for APIs that never say they are done).
    pub max_pages: Option<u64>,
    /// Host only: the component's memory cap, MiB.
    #[serde(default, skip_serializing)]
    pub memory_limit: Option<usize>,
    /// Host only: seconds one call into the component may take.
    #[serde(default, skip_serializing)]
    pub call_timeout: Option<u64>,
    /// Host only: MiB one response body may hold (default 64).
    #[serde(default, skip_serializing)]
    pub response_limit: Option<u64>,
    /// Host only: seconds one request may take, its body included (default 30).
    #[serde(default, skip_serializing)]
    pub request_timeout: Option<u64>,
}

fn default_endpoint() -> String {
    "{entity}".into()
}

/// One of the supported authentication schemes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
    /// A key in a header or a query parameter.
    ApiKey {
        /// The header or parameter name.
        name: String,
        /// The key.
        key: String,
        /// Where it goes.
        #[serde(default)]
        location: KeyLocation,
    },
    /// HTTP basic authentication.
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: String,
    },
    /// An OAuth 2 token from the client-credentials grant, cached and fetched anew on a 401.
    Oauth2ClientCredentials {
        /// Where tokens come from.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
        /// The scope asked for.
        scope: Option<String>,
    },
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyLocation {
    /// A request header.
    #[default]
    Header,
    /// A query parameter.
    Query,
}

/// How the pages of an endpoint are walked.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// A `Link: <…>; rel="next"` header, else a top-level `next` URL in the body, else
    /// one page.
    #[default]
    Auto,
    /// RFC 8288 `Link` headers with `rel="next"`.
    LinkHeader,
    /// A URL at a dotted path in the body.
    JsonLink {
        /// Dotted path to the next page's URL.
        next: String,
    },
    /// `offset` and `limit` query parameters.
    Offset {
        /// Records per page.
        limit: u64,
        /// The offset parameter's name.
        #[serde(default = "offset_param")]
        offset_param: String,
        /// The limit parameter's name.
        #[serde(default = "limit_param")]
        limit_param: String,
        /// The first offset.
        #[serde(default)]
        start: u64,
        /// Dotted path to the total number of records, when the API gives it.
        total: Option<String>,
    },
    /// A page number query parameter.
    PageNumber {
        /// The page parameter's name.
        #[serde(default = "page_param")]
        page_param: String,
        /// The first page's number.
        #[serde(default = "one")]
        start: u64,
        /// Records per page, sent as `page_size_param` when that is set.
        page_size: Option<u64>,
        /// The page size parameter's name.
        page_size_param: Option<String>,
        /// Dotted path to the number of pages, when the API gives it.
        total_pages: Option<String>,
    },
    /// A cursor from the body sent back as a query parameter.
    Cursor {
        /// Dotted path to the next cursor.
        cursor: String,
        /// The parameter it is sent as.
        #[serde(default = "cursor_param")]
        cursor_param: String,
    },
    /// One page.
    None,
}

fn offset_param() -> String {
    "offset".into()
}
fn limit_param() -> String {
    "limit".into()
}
fn page_param() -> String {
    "page".into()
}
fn cursor_param() -> String {
    "cursor".into()
}
fn one() -> u64 {
    1
}

/// `rate_limit:`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests a second, at most.
    pub requests_per_second: f64,
}

/// `retries:`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    /// Attempts per request, the first included.
    #[serde(default = "five")]
    pub max_attempts: u32,
    /// Seconds before the first retry when the server sends no `Retry-After`; doubled each
    /// time.
    #[serde(default = "half")]
    pub backoff: f64,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            max_attempts: five(),
            backoff: half(),
        }
    }
}

fn five() -> u32 {
    5
}
fn half() -> f64 {
    0.5
}

/// `flatten:`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Flatten {
    /// Levels of nested objects turned into `parent__child` columns; deeper objects, and
    /// every array, stay JSON text. None: every level.
    pub max_depth: Option<usize>,
}

/// A key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key, dotted (`pagination.limit`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn new(key: &str, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl RestConfig {
    /// What serde cannot check: URLs, positive numbers, the schema's type names.
    ///
    /// # Errors
    /// The first problem found.
    pub fn check(&self) -> Result<(), Problem> {
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return Err(Problem::new(
                "base_url",
                format!("`{}` must start with https:// or http://", self.base_url),
            ));
        }
        if let Some(Auth::Oauth2ClientCredentials { token_url, .. }) = &self.auth
            && !(token_url.starts_with("https://") || token_url.starts_with("http://"))
        {
            return Err(Problem::new(
                "auth.token_url",
                format!("`{token_url}` must start with https:// or http://"),
            ));
        }
        match &self.pagination {
            Pagination::Offset { limit: 0, .. } => {
                return Err(Problem::new("pagination.limit", "must be at least 1"));
            }
            Pagination::PageNumber {
                page_size: Some(0), ..
            } => return Err(Problem::new("pagination.page_size", "must be at least 1")),
            _ => {}
        }
        if let Some(rate) = self.rate_limit
            && !(rate.requests_per_second > 0.0 && rate.requests_per_second.is_finite())
        {
            return Err(Problem::new(
                "rate_limit.requests_per_second",
                "must be a number above 0",
            ));
        }
        if self.retries.max_attempts == 0 {
            return Err(Problem::new(
                "retries.max_attempts",
                "must be at least 1 (the first attempt counts)",
            ));
        }
        if !(self.retries.backoff >= 0.0 && self.retries.backoff.is_finite()) {
            return Err(Problem::new("retries.backoff", "must be 0 or more seconds"));
        }
        for (key, value) in [
            ("batch_size", self.batch_size),
            ("sample_size", self.sample_size),
        ] {
            if value == Some(0) {
                return Err(Problem::new(key, "must be at least 1"));
            }
        }
        for (field, name) in &self.schema {
            if let Err(message) = FieldType::parse(name) {
                return Err(Problem::new(&format!("schema.{field}"), message));
            }
        }
        for (name, value) in &self.params {
            if value.is_object() || value.is_array() {
                return Err(Problem::new(
                    &format!("params.{name}"),
                    "must be a string, a number or a boolean",
                ));
            }
        }
        Ok(())
    }
}

/// A type named in `schema:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `int8` … `int64`.
    Int(u8),
    /// `uint8` … `uint64`.
    UInt(u8),
    /// `float32`, `float64` (`float`, `double`).
    Float(u8),
    /// `bool`, `boolean`.
    Bool,
    /// `string`, `text`, `json`.
    Text,
    /// `date` (`YYYY-MM-DD`).
    Date,
    /// `timestamp`: µs, no time zone.
    Timestamp,
    /// `timestamptz`: µs, UTC.
    TimestampTz,
    /// `decimal(p,s)`.
    Decimal(u8, i8),
}

/// The names `schema:` accepts, for messages.
pub const FIELD_TYPES: &str = "int8, int16, int32, int64, uint8 … uint64, float32, float64, bool, string, date, timestamp, timestamptz, decimal(p,s)";

impl FieldType {
    /// Reads a type name.
    ///
    /// # Errors
    /// What is wrong, with the names accepted.
    pub fn parse(name: &str) -> Result<FieldType, String> {
        let lower = name.trim().to_ascii_lowercase().replace(' ', "");
        let simple = match lower.as_str() {
            "int8" => Some(FieldType::Int(8)),
            "int16" => Some(FieldType::Int(16)),
            "int32" | "int" | "integer" => Some(FieldType::Int(32)),
            "int64" | "bigint" | "long" => Some(FieldType::Int(64)),
            "uint8" => Some(FieldType::UInt(8)),
            "uint16" => Some(FieldType::UInt(16)),
            "uint32" => Some(FieldType::UInt(32)),
            "uint64" => Some(FieldType::UInt(64)),
            "float32" | "float" => Some(FieldType::Float(32)),
            "float64" | "double" => Some(FieldType::Float(64)),
            "bool" | "boolean" => Some(FieldType::Bool),
            "string" | "text" | "utf8" | "json" => Some(FieldType::Text),
            "date" => Some(FieldType::Date),
            "timestamp" => Some(FieldType::Timestamp),
            "timestamptz" => Some(FieldType::TimestampTz),
            _ => None,
        };
        if let Some(simple) = simple {
            return Ok(simple);
        }
        let unknown = || format!("`{name}` is not a type hygge knows; use one of {FIELD_TYPES}");
        let inner = lower
            .strip_prefix("decimal(")
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(unknown)?;
        let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
        let (Ok(p), Ok(s)) = (p.parse::<u8>(), s.parse::<i8>()) else {
            return Err(unknown());
        };
        if !(1..=38).contains(&p) || s < 0 || s as u8 > p {
            return Err(format!(
                "`{name}`: a decimal needs 1 ≤ precision ≤ 38 and 0 ≤ scale ≤ precision"
            ));
        }
        Ok(FieldType::Decimal(p, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<RestConfig, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_issue_example_parses_and_checks() {
        let config = parse(
            r#"{"base_url": "https://api.example.com/v2/", "endpoint": "{entity}",
                "params": {"status": "active"}, "headers": {"Accept": "application/json"},
                "records": "data.items", "auth": {"type": "bearer", "token": "t"},
                "pagination": {"type": "offset", "limit": 100, "total": "meta.total"},
                "watermark_param": "updated_since", "rate_limit": {"requests_per_second": 10},
                "retries": {"max_attempts": 5}, "flatten": {"max_depth": 2},
                "schema": {"id": "int64", "amount": "decimal(12,2)"}}"#,
        )
        .unwrap();
        config.check().unwrap();
        assert!(matches!(
            config.pagination,
            Pagination::Offset { limit: 100, .. }
        ));
    }

    #[test]
    fn mistakes_name_their_key() {
        let error = parse(r#"{"base_url": "https://a", "paginaton": {}}"#).unwrap_err();
        assert!(error.contains("paginaton"), "{error}");
        let error =
            parse(r#"{"base_url": "https://a", "auth": {"type": "kerberos"}}"#).unwrap_err();
        assert!(error.contains("kerberos"), "{error}");
        let config = parse(r#"{"base_url": "https://a", "schema": {"amount": "money"}}"#).unwrap();
        assert_eq!(config.check().unwrap_err().key, "schema.amount");
        let config = parse(r#"{"base_url": "ftp://a"}"#).unwrap();
        assert_eq!(config.check().unwrap_err().key, "base_url");
        let config =
            parse(r#"{"base_url": "https://a", "pagination": {"type": "offset", "limit": 0}}"#)
                .unwrap();
        assert_eq!(config.check().unwrap_err().key, "pagination.limit");
    }

    #[test]
    fn decimal_types_are_read_with_their_bounds() {
        assert_eq!(
            FieldType::parse("decimal(12, 2)"),
            Ok(FieldType::Decimal(12, 2))
        );
        assert_eq!(FieldType::parse("DECIMAL(5)"), Ok(FieldType::Decimal(5, 0)));
        assert!(FieldType::parse("decimal(40,2)").is_err());
        assert!(FieldType::parse("decimal(4,5)").is_err());
    }
}
