//! Object store errors as connector errors, with the kind set from the error's variant.

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::contract::{ConnectorError, ErrorKind};

/// A failed listing, typed: S3 and Azure listings report every refusal as a generic error,
/// so a HEAD of `probe` (whose 401 and 403 object_store does type) tells refused
/// credentials from a missing bucket.
pub async fn typed_list_error(
    store: &dyn ObjectStore,
    probe: &Path,
    error: object_store::Error,
) -> object_store::Error {
    if !matches!(error, object_store::Error::Generic { .. }) || reached_no_server(&error) {
        return error;
    }
    match store.head(probe).await {
        Err(
            refused @ (object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. }),
        ) => refused,
        _ => error,
    }
}

/// Whether `error` is a transport failure (no connection, a timeout, a reset), found by
/// its type in the source chain: object_store's `HttpError`.
fn reached_no_server(error: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<object_store::client::HttpError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// `error`, met while doing `what` at `place` (a URL a user recognises) signed in with
/// `sign_in` (the connection, or the cloud's credential chain), as a connector error: refused credentials are `auth`, a missing bucket or object and any other answer
/// the server refused with are `config`, and a request that reached no server (after
/// object_store's own retries) is a `connection` error the flow retries.
pub fn object_error(
    error: object_store::Error,
    what: &str,
    place: &str,
    sign_in: &str,
) -> ConnectorError {
    use object_store::Error as E;
    let refused =
        format!("check the credentials of {sign_in} and that they may read and write this place");
    let (kind, hint) = match &error {
        E::Unauthenticated { .. } | E::PermissionDenied { .. } => {
            (ErrorKind::Auth, refused.as_str())
        }
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
        E::Generic { .. } if reached_no_server(&error) => (
            ErrorKind::Connection,
            "check the endpoint and the network; hygge retries",
        ),
        // The server answered, with a status object_store has no variant for (S3's
        // NoSuchBucket is a 404 on a listing).
        E::Generic { .. } => (
            ErrorKind::Config,
            "the store refused the request: check that the bucket or container exists and the connection's endpoint and region",
        ),
        _ => (ErrorKind::Internal, "run again with --verbose for details"),
    };
    ConnectorError::new(kind, format!("{what} {place}"))
        .with_context(hint)
        .with_source(error)
}
