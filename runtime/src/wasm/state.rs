//! The data of one component instance's store.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::LogLevel;
use super::bindings::home_world::hygge::connector::{host, types};
use super::limiter::MemoryLimiter;

/// Longest log line a component may write; longer ones are cut.
const MAX_LOG_LINE: usize = 4096;

/// Per-instance state: the WASI context built from its permissions, its resources, its
/// memory limiter and its captured output.
pub struct HostState {
    /// The sandboxed WASI context (granted directories only, no env, no network).
    pub(crate) wasi: WasiCtx,
    /// WASI and component resources.
    pub(crate) table: ResourceTable,
    /// The memory cap; installed before instantiation so the first allocation counts.
    pub(crate) limiter: MemoryLimiter,
    /// The component's name, for log lines and errors.
    pub(crate) component: String,
    /// The component's stdout, capped.
    pub(crate) stdout: MemoryOutputPipe,
    /// The component's stderr, capped.
    pub(crate) stderr: MemoryOutputPipe,
    /// When the current call must have finished (set by `arm`).
    pub(crate) deadline: std::time::Instant,
}

impl HostState {
    /// The tail of what the component wrote to stderr, for error messages.
    pub(crate) fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let tail: String = text
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        tail.trim().to_string()
    }

    /// Sends the captured stdout and stderr to the log.
    pub(crate) fn drain_output_to_log(&self) {
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = pipe.contents();
            if !bytes.is_empty() {
                let text = String::from_utf8_lossy(&bytes);
                tracing::debug!(component = %self.component, stream, "{}", text.trim_end());
            }
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let component = &self.component;
        match level {
            LogLevel::Trace => tracing::trace!(component = %component, "{message}"),
            LogLevel::Debug => tracing::debug!(component = %component, "{message}"),
            LogLevel::Info => tracing::info!(component = %component, "{message}"),
            LogLevel::Warn => tracing::warn!(component = %component, "{message}"),
            LogLevel::Error => tracing::error!(component = %component, "{message}"),
        }
    }
}
