//! What one component instance may touch. Everything is denied unless granted here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::contract::ConnectorError;

/// The default memory cap of an instance (`memory_limit`).
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;
/// The default time allowed for one call into a component (`call_timeout`).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of a component's stdout and stderr kept for the log; writing more fails the call.
pub const OUTPUT_CAP: usize = 64 << 10;

/// A component's grant: directories, memory and time. The default grants nothing: no
/// directories, no environment, no arguments, no network, no inherited stdio.
#[derive(Debug, Clone)]
pub struct Permissions {
    read_dirs: Vec<(PathBuf, String)>,
    write_dirs: Vec<(PathBuf, String)>,
    memory_limit: usize,
    call_timeout: Duration,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            read_dirs: Vec::new(),
            write_dirs: Vec::new(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }
}

impl Permissions {
    /// Grants `host` read-only, seen by the guest as `guest`.
    pub fn with_read_dir(mut self, host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        self.read_dirs.push((host.into(), guest.into()));
        self
    }

    /// Grants `host` read-write, seen by the guest as `guest`.
    pub fn with_write_dir(mut self, host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        self.write_dirs.push((host.into(), guest.into()));
        self
    }

    /// Caps linear memory at `bytes`.
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Bounds every call at `timeout`.
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The memory cap.
    pub fn memory_limit(&self) -> usize {
        self.memory_limit
    }

    /// The time allowed per call.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// The granted directories as `(host, guest, writable)`, for `hygge debug`.
    pub fn dirs(&self) -> impl Iterator<Item = (&Path, &str, bool)> {
        self.read_dirs
            .iter()
            .map(|(h, g)| (h.as_path(), g.as_str(), false))
            .chain(
                self.write_dirs
                    .iter()
                    .map(|(h, g)| (h.as_path(), g.as_str(), true)),
            )
    }

    /// One line for `hygge debug`: the folders, the memory cap and the time limit.
    pub fn summary(&self) -> String {
        let dirs: Vec<String> = self
            .dirs()
            .map(|(host, guest, write)| {
                format!(
                    "{} {} as {guest}",
                    if write { "read-write" } else { "read-only" },
                    host.display()
                )
            })
            .collect();
        format!(
            "{}; memory {} MiB; {} s per call; no env, no network",
            if dirs.is_empty() {
                "no folders".to_string()
            } else {
                dirs.join(", ")
            },
            self.memory_limit >> 20,
            self.call_timeout.as_secs_f64()
        )
    }

    /// The WASI context of one instance, with its output pipes.
    pub(crate) fn wasi(
        &self,
    ) -> Result<(WasiCtx, MemoryOutputPipe, MemoryOutputPipe), ConnectorError> {
        let stdout = MemoryOutputPipe::new(OUTPUT_CAP);
        let stderr = MemoryOutputPipe::new(OUTPUT_CAP);
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            // File I/O runs on the calling thread instead of a `spawn_blocking` hop per
            // read; a component call yields to the executor on every epoch tick anyway.
            .allow_blocking_current_thread(true)
            // `wasi:sockets` is not linked (see `linker`); the context refuses it as well.
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        for (host, guest, writable) in self.dirs() {
            if writable {
                std::fs::create_dir_all(host).map_err(|e| {
                    ConnectorError::config(format!(
                        "cannot create {} for the component: {e}",
                        host.display()
                    ))
                })?;
            }
            let perms = if writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            builder.preopened_dir(host, guest, perms).map_err(|e| {
                ConnectorError::config(format!(
                    "cannot grant {} to the component: {e}",
                    host.display()
                ))
            })?;
        }
        Ok((builder.build(), stdout, stderr))
    }
}
