//! What a component may import. WASI is granted one interface at a time, each backed by the
//! instance's deny-by-default context (see `permissions`). `wasi:http` is linked only for a
//! component whose grant names origins, and every request it sends is checked against them
//! (`http_hooks`). `wasi:sockets` is never linked: a component that imports it, or imports
//! `wasi:http` without a grant, is refused before it runs, with a message that says so.

use wasmtime::Engine;
use wasmtime::component::{Component, HasData, HasSelf, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

use super::bindings::home_world::hygge::connector::{host, types};
use super::state::HostState;
use crate::contract::ConnectorError;

/// Import prefixes hygge never links, and what they would give a component.
const WITHHELD: &[(&str, &str)] = &[("wasi:sockets/", "raw network access")];

/// Import prefixes linked only for a grant that names HTTP origins.
const HTTP: (&str, &str) = ("wasi:http/", "outbound HTTP");

/// The `wasi:io` interfaces reach only the instance's resource table.
struct IoTable;

impl HasData for IoTable {
    type Data<'a> = &'a mut ResourceTable;
}

/// The linker instances are created from: the WASI interfaces a connector needs to read
/// and write its granted files, hygge's own `types` and `host` (logging), and with `http`
/// the `wasi:http` client.
pub(crate) fn new_linker(engine: &Engine, http: bool) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    let l = &mut linker;
    io::error::add_to_linker::<HostState, IoTable>(l, |s| &mut s.table)?;
    io::poll::add_to_linker::<HostState, IoTable>(l, |s| &mut s.table)?;
    io::streams::add_to_linker::<HostState, IoTable>(l, |s| &mut s.table)?;
    // Only the preopened directories of the grant, read-only for homes.
    filesystem::types::add_to_linker::<HostState, WasiFilesystem>(l, HostState::filesystem)?;
    filesystem::preopens::add_to_linker::<HostState, WasiFilesystem>(l, HostState::filesystem)?;
    // Language runtimes read the clocks and seed their hash maps.
    clocks::wall_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    random::random::add_to_linker::<HostState, WasiRandom>(l, HostState::random)?;
    random::insecure::add_to_linker::<HostState, WasiRandom>(l, HostState::random)?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(l, HostState::random)?;
    // The context has no variables, no arguments and no stdin; stdout and stderr are capped
    // pipes drained into the flow log.
    cli::environment::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::exit::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    types::add_to_linker::<HostState, HasSelf<HostState>>(l, |s| s)?;
    host::add_to_linker::<HostState, HasSelf<HostState>>(l, |s| s)?;
    if http {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)?;
    }
    Ok(linker)
}

/// The imports of `component` that a grant with (`http`) or without HTTP origins does not
/// link, each with what it would give.
pub(crate) fn withheld_imports(
    engine: &Engine,
    component: &Component,
    http: bool,
) -> Vec<(String, &'static str)> {
    let withheld: Vec<(&str, &str)> = WITHHELD
        .iter()
        .copied()
        .chain((!http).then_some(HTTP))
        .collect();
    component
        .component_type()
        .imports(engine)
        .filter_map(|(name, _)| {
            withheld
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .map(|(_, what)| (name.to_string(), *what))
        })
        .collect()
}

/// Refuses a component called `name` that imports what its grant does not link, before it
/// runs.
///
/// # Errors
/// A config error naming the first withheld import, what it would give, and how to grant
/// it where that is possible.
pub(crate) fn refuse_withheld(
    engine: &Engine,
    name: &str,
    component: &Component,
    http: bool,
) -> Result<(), ConnectorError> {
    match withheld_imports(engine, component, http).first() {
        None => Ok(()),
        Some((import, what)) if import.starts_with(HTTP.0) => Err(ConnectorError::config(format!(
            "component `{name}` imports `{import}`, but its grant names no HTTP origin, so it was not started"
        ))
        .with_context(
            "grant the origins it may call, e.g. `allow: {http: [\"https://api.example.com\"]}`",
        )),
        Some((import, what)) => Err(ConnectorError::config(format!(
            "component `{name}` imports `{import}`: hygge grants components no {what}, so it was not started"
        ))
        .with_context(
            "a connector reaches only the directories and HTTP origins its grant names; `hygge component inspect` lists what a component imports",
        )),
    }
}
