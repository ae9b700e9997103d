//! The one error type every connector returns, and the kinds the flow engine acts on.

use std::fmt;

use serde::Serialize;

/// What went wrong, as far as the flow engine is concerned.
///
/// The connector picks the kind when it creates the error (it knows that a failed login is
/// `Auth`), and the flow decides from the kind alone whether to retry: only `Connection`
/// errors are transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// The configuration is wrong: a missing key, a bad value, a path that does not exist.
    Config,
    /// The credentials were refused.
    Auth,
    /// The network or server failed in a way that may pass: retried with backoff.
    Connection,
    /// The data itself is bad: a corrupt file, a value that does not fit, a schema mismatch.
    Data,
    /// A bug or an environment failure hygge cannot attribute to the user.
    Internal,
    /// The run was asked to stop (SIGINT, SIGTERM); the store was aborted.
    Interrupted,
}

impl ErrorKind {
    /// Whether an error of this kind is worth another attempt.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Connection)
    }

    /// The lowercase name used in messages and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::Connection => "connection",
            ErrorKind::Data => "data",
            ErrorKind::Internal => "internal",
            ErrorKind::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error from a home or a store: a kind, a message that says what to try, context lines
/// added on the way up, and the underlying cause.
#[derive(Debug)]
pub struct ConnectorError {
    kind: ErrorKind,
    message: String,
    context: Vec<String>,
    source: Option<BoxError>,
}

impl ConnectorError {
    /// A new error of `kind` with a message for the user.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            message: message.into(),
            context: Vec::new(),
            source: None,
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// An error in the data (corrupt file, schema mismatch, bad value).
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }

    /// A transient failure worth retrying.
    pub fn connection(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Connection, message)
    }

    /// A failure hygge cannot attribute to the user's input.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Adds a line of context ("while publishing out/customers").
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context.push(context.into());
        self
    }

    /// The kind the connector assigned.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without context or cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        for line in self.context.iter().rev() {
            write!(f, " ({line})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for results of connector calls.
pub type ConnectorResult<T> = Result<T, ConnectorError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_errors_are_retryable() {
        for kind in [
            ErrorKind::Config,
            ErrorKind::Auth,
            ErrorKind::Data,
            ErrorKind::Internal,
        ] {
            assert!(!kind.is_retryable(), "{kind} must not be retried");
        }
        assert!(ErrorKind::Connection.is_retryable());
    }

    #[test]
    fn display_includes_cause_and_context() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = ConnectorError::data("cannot read data/a.parquet")
            .with_source(io)
            .with_context("reading home");
        assert_eq!(
            err.to_string(),
            "cannot read data/a.parquet: no such file (reading home)"
        );
        assert_eq!(err.kind(), ErrorKind::Data);
    }
}
