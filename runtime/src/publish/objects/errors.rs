//! Object store errors as connector errors, with the kind set from the error's variant.

use crate::contract::{ConnectorError, ErrorKind};

/// `error`, met while doing `what` at `place` (a URL a user recognises), as a connector
/// error: refused credentials are `auth`, a missing bucket or object is `config`, and a
/// failed request (after object_store's own retries) is a `connection` error the flow
/// retries.
pub fn object_error(error: object_store::Error, what: &str, place: &str) -> ConnectorError {
    use object_store::Error as E;
    let (kind, hint) = match &error {
        E::Unauthenticated { .. } | E::PermissionDenied { .. } => (
            ErrorKind::Auth,
            "check the connection's credentials and that they may read and write this place",
        ),
        E::NotFound { .. } => (
            ErrorKind::Config,
            "check that the bucket or container exists and the path is right",
        ),
        E::InvalidPath { .. } | E::UnknownConfigurationKey { .. } => (
            ErrorKind::Config,
            "check the path and the connection's keys",
        ),
        E::NotSupported { .. } | E::NotImplemented { .. } => (
            ErrorKind::Config,
            "this store does not support what hygge needs here (conditional writes)",
        ),
        E::Generic { .. } => (
            ErrorKind::Connection,
            "check the endpoint and the network; hygge retries",
        ),
        _ => (ErrorKind::Internal, "run again with --verbose for details"),
    };
    ConnectorError::new(kind, format!("{what} {place}: {error}"))
        .with_context(hint)
        .with_source(error)
}
