//! Turning what goes wrong inside a component into errors that name the component, the call
//! and the cause: a trap, a timeout, the memory cap, an output flood, or the guest's own error.

use wasmtime::{Store, Trap};

use super::bindings::{GuestError, GuestErrorKind};
use super::http_hooks::HttpFault;
use super::limits::MAX_MESSAGE_BYTES;
use super::permissions::OUTPUT_CAP;
use super::state::HostState;
use crate::contract::{ConnectorError, ErrorKind};

/// A failed call into `call` of the component in `store`.
pub(crate) fn call_failed(
    store: &Store<HostState>,
    call: &str,
    error: wasmtime::Error,
) -> ConnectorError {
    let state = store.data();
    let name = &state.component;
    state.drain_output_to_log();
    if let Err(fault) = http_checked(store) {
        return fault;
    }
    if let Some(requested) = state.limiter.refused() {
        let mib = |bytes: usize| bytes.div_ceil(1 << 20);
        if call == "instantiate" {
            return ConnectorError::new(
                ErrorKind::Config,
                format!(
                    "component `{name}` cannot start within its memory_limit of {} MiB: it needs at least {} MiB before it does anything",
                    mib(state.limiter.limit()),
                    mib(requested)
                ),
            )
            .with_context(format!(
                "set `memory_limit` on the home or store to at least {} (MiB), and more for the data it handles",
                mib(requested)
            ));
        }
        return ConnectorError::new(
            ErrorKind::Data,
            format!(
                "component `{name}` tried to grow its memory to {} MiB in `{call}`, over its memory_limit of {} MiB",
                mib(requested),
                mib(state.limiter.limit())
            ),
        )
        .with_context("raise `memory_limit` on the home or store if the component needs more");
    }
    if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return ConnectorError::new(ErrorKind::Data, format!("component `{name}` did not finish `{call}` within its call_timeout"))
            .with_context("the call was interrupted; raise `call_timeout` if the component is slow rather than stuck");
    }
    if state.stdout.contents().len() >= OUTPUT_CAP || state.stderr.contents().len() >= OUTPUT_CAP {
        return ConnectorError::new(
            ErrorKind::Data,
            format!(
                "component `{name}` wrote more than {} KiB to stdout/stderr in `{call}` and was stopped",
                OUTPUT_CAP >> 10
            ),
        );
    }
    // wasmtime's hostcall-fuel error type is private; its text is stable and specific.
    if format!("{error:#}").contains("too much data is being copied") {
        return ConnectorError::new(
            ErrorKind::Data,
            format!(
                "component `{name}` tried to hand more than {} MiB to the host in `{call}`; the host accepts at most that per call",
                MAX_MESSAGE_BYTES >> 20
            ),
        )
        .with_context("make the component return smaller batches");
    }
    let stderr = state.stderr_tail();
    let mut message = format!("component `{name}` failed in `{call}`: {error:#}");
    if !stderr.is_empty() {
        message.push_str(&format!("; its stderr: {stderr}"));
    }
    ConnectorError::new(ErrorKind::Internal, message)
}

/// A failed instantiation: the memory cap (said plainly), or else most often a component
/// that does not export `export`.
pub(crate) fn instantiate_failed(
    store: &Store<HostState>,
    export: &str,
    error: wasmtime::Error,
) -> ConnectorError {
    let limited = store.data().limiter.refused().is_some();
    let failed = call_failed(store, "instantiate", error);
    if limited {
        failed
    } else {
        failed.with_context(format!("does the component export {export}?"))
    }
}

/// An error the component returned itself, with the paths it names as the host sees them.
pub(crate) fn guest_error(
    store: &Store<HostState>,
    call: &str,
    error: GuestError,
) -> ConnectorError {
    if let Err(fault) = http_checked(store) {
        return fault;
    }
    let state = store.data();
    let kind = match error.kind {
        GuestErrorKind::Config => ErrorKind::Config,
        GuestErrorKind::Auth => ErrorKind::Auth,
        GuestErrorKind::Connection => ErrorKind::Connection,
        GuestErrorKind::Data => ErrorKind::Data,
        GuestErrorKind::Internal => ErrorKind::Internal,
    };
    let failed = ConnectorError::new(
        kind,
        format!(
            "component `{}` ({call}): {}",
            state.component,
            state.host_paths(&error.message)
        ),
    );
    match state.outside_grant(&error.message) {
        Some(path) => {
            let granted: Vec<String> = state
                .mounts
                .iter()
                .map(|(_, host)| host.display().to_string())
                .collect();
            let granted = if granted.is_empty() {
                "nothing".to_string()
            } else {
                granted.join(", ")
            };
            failed.with_context(format!(
                "`{path}` is outside the component's grant (granted: {granted}); the sandbox shows \
                 it as missing. Add its folder under `allow:` if the component should reach it"
            ))
        }
        None => failed,
    }
}

/// Fails a call, even one the component reports as a success, once one of its HTTP requests
/// left the grant, passed the response cap or ran out of time: what the guest says of such
/// a failure (if anything) is less clear than what the host saw.
///
/// # Errors
/// The first such fault, naming the component, the URL and the grant or limit.
pub(crate) fn http_checked(store: &Store<HostState>) -> Result<(), ConnectorError> {
    let state = store.data();
    let name = &state.component;
    let Some(fault) = state.http.faults.first() else {
        return Ok(());
    };
    Err(match fault {
        HttpFault::Refused { url } => ConnectorError::new(
            ErrorKind::Config,
            format!(
                "component `{name}` asked for {url}, outside its grant ({}); the request was not sent",
                state.http.grant.describe()
            ),
        )
        .with_context("if the component should reach it, add its origin under `allow: http:`"),
        HttpFault::TooLarge { url, limit } => ConnectorError::new(
            ErrorKind::Data,
            format!(
                "component `{name}`: the response from {url} is larger than its response_limit of {} MiB; it was cut off",
                limit.div_ceil(1 << 20)
            ),
        )
        .with_context("raise `response_limit` (MiB) if the API really sends bodies that large"),
        HttpFault::TimedOut { url, timeout } => ConnectorError::new(
            ErrorKind::Connection,
            format!(
                "component `{name}`: {url} did not answer in full within its request_timeout of {} s",
                timeout.as_secs_f64()
            ),
        )
        .with_context("raise `request_timeout` (seconds) if the API is slow rather than stuck"),
    })
}
