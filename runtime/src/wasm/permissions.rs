//! What one component instance may touch. Everything is denied unless granted here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::http_grant::{HttpGrant, HttpOrigin};
use crate::contract::{ConfigProblem, ConnectorError};

/// The default memory cap of an instance (`memory_limit`).
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;
/// The default time allowed for one call into a component (`call_timeout`).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The default cap on one HTTP response body (`response_limit`).
pub const DEFAULT_RESPONSE_LIMIT: u64 = 64 << 20;
/// The default time one HTTP request may take, response body included (`request_timeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of a component's stdout and stderr kept for the log; writing more fails the call.
pub const OUTPUT_CAP: usize = 64 << 10;

/// A component's grant: directories, HTTP origins, memory and time. The default grants
/// nothing: no directories, no network, no environment, no arguments, no inherited stdio.
#[derive(Debug, Clone)]
pub struct Permissions {
    read_dirs: Vec<(PathBuf, String)>,
    write_dirs: Vec<(PathBuf, String)>,
    http: HttpGrant,
    response_limit: u64,
    request_timeout: Duration,
    memory_limit: usize,
    call_timeout: Duration,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            read_dirs: Vec::new(),
            write_dirs: Vec::new(),
            http: HttpGrant::default(),
            response_limit: DEFAULT_RESPONSE_LIMIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
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

    /// Lets the component send HTTP requests inside `origin`.
    pub fn with_http(mut self, origin: HttpOrigin) -> Self {
        self.http.allow(origin);
        self
    }

    /// Caps each HTTP response body at `bytes`.
    pub fn with_response_limit(mut self, bytes: u64) -> Self {
        self.response_limit = bytes;
        self
    }

    /// Bounds each HTTP request, its response body included, at `timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The HTTP origins granted.
    pub fn http(&self) -> &HttpGrant {
        &self.http
    }

    /// The cap on one HTTP response body, in bytes.
    pub fn response_limit(&self) -> u64 {
        self.response_limit
    }

    /// The time one HTTP request may take.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
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

    /// One line for `hygge debug`: the folders, the HTTP origins, the memory cap and the
    /// time limit.
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
        let network = if self.http.is_empty() {
            "no network".to_string()
        } else {
            format!(
                "{} (responses up to {} MiB, {} s per request)",
                self.http.describe(),
                self.response_limit >> 20,
                self.request_timeout.as_secs_f64()
            )
        };
        format!(
            "{}; {network}; memory {} MiB; {} s per call; no env",
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
            // `wasi:sockets` is never linked (see `linker`); the context refuses it as well.
            // HTTP, when granted, goes through the host's own checked client instead.
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

/// The limits a home or store may set on its sandbox, as written: MiB and seconds. Every
/// component connector takes the same four keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct SandboxLimits {
    /// `memory_limit`, MiB.
    pub memory_limit: Option<usize>,
    /// `call_timeout`, seconds.
    pub call_timeout: Option<u64>,
    /// `response_limit`, MiB.
    pub response_limit: Option<u64>,
    /// `request_timeout`, seconds.
    pub request_timeout: Option<u64>,
}

impl SandboxLimits {
    /// `permissions` with the limits that are set.
    ///
    /// # Errors
    /// A zero, naming its key.
    pub fn apply(&self, permissions: Permissions) -> Result<Permissions, ConfigProblem> {
        let positive = |key: &str, value: u64, unit: &str| {
            if value == 0 {
                Err(ConfigProblem::key(
                    key,
                    format!("must be at least 1 ({unit})"),
                ))
            } else {
                Ok(value)
            }
        };
        let mut permissions = permissions;
        if let Some(mib) = self.memory_limit {
            let mib = positive("memory_limit", mib as u64, "MiB")?;
            permissions = permissions.with_memory_limit((mib as usize).saturating_mul(1 << 20));
        }
        if let Some(secs) = self.call_timeout {
            let secs = positive("call_timeout", secs, "second")?;
            permissions = permissions.with_call_timeout(Duration::from_secs(secs));
        }
        if let Some(mib) = self.response_limit {
            let mib = positive("response_limit", mib, "MiB")?;
            permissions = permissions.with_response_limit(mib.saturating_mul(1 << 20));
        }
        if let Some(secs) = self.request_timeout {
            let secs = positive("request_timeout", secs, "second")?;
            permissions = permissions.with_request_timeout(Duration::from_secs(secs));
        }
        Ok(permissions)
    }
}
