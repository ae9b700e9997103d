//! The data of one component instance's store.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::LogLevel;
use super::bindings::home_world::hygge::connector::{host, types};
use super::http_hooks::HttpHooks;
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
    /// `wasi:http`'s context; linked only for a grant that names origins.
    pub(crate) http_ctx: WasiHttpCtx,
    /// The HTTP grant and what the component's requests ran into.
    pub(crate) http: HttpHooks,
    /// The memory cap; installed before instantiation so the first allocation counts.
    pub(crate) limiter: MemoryLimiter,
    /// The component's name, for log lines and errors.
    pub(crate) component: String,
    /// Each granted folder as `(path the guest sees, host path)`, so that the guest's
    /// messages can name the paths the user wrote.
    pub(crate) mounts: Vec<(String, std::path::PathBuf)>,
    /// The component's stdout, capped.
    pub(crate) stdout: MemoryOutputPipe,
    /// The component's stderr, capped.
    pub(crate) stderr: MemoryOutputPipe,
    /// When the current call must have finished (set by `arm`).
    pub(crate) deadline: std::time::Instant,
}

impl HostState {
    /// The first absolute path `message` names that lies outside every granted folder: the
    /// sandbox answers "not found" for those, which is true for the guest but misleading for
    /// the user.
    pub(crate) fn outside_grant<'m>(&self, message: &'m str) -> Option<&'m str> {
        message
            .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ',' | '(' | ')'))
            .map(|token| token.trim_end_matches([':', '.', ';']))
            .filter(|token| token.starts_with('/') && token.len() > 1)
            .find(|token| {
                !self.mounts.iter().any(|(guest, _)| {
                    token
                        .strip_prefix(guest.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
            })
    }

    /// `message` with every path the guest sees through a grant written as the host path,
    /// the longest mount first (so `/store/x` wins over `/store`).
    pub(crate) fn host_paths(&self, message: &str) -> String {
        let mut mounts: Vec<&(String, std::path::PathBuf)> = self
            .mounts
            .iter()
            .filter(|(guest, _)| guest.starts_with('/') && guest.len() > 1)
            .collect();
        mounts.sort_by_key(|(guest, _)| std::cmp::Reverse(guest.len()));
        let mut out = message.to_string();
        for (guest, host) in mounts {
            if guest.as_str() != host.to_string_lossy() {
                out = replace_path_prefix(&out, guest, &host.to_string_lossy());
            }
        }
        out
    }

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

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http_ctx,
            table: &mut self.table,
            hooks: &mut self.http,
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

/// Replaces `from` by `to` where it starts a path: followed by `/`, a quote, white space, a
/// colon or the end, so `/home` does not touch `/homework`.
fn replace_path_prefix(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let ends_path = after.chars().next().is_none_or(|c| {
            c == '/'
                || c == '"'
                || c == '\''
                || c == '`'
                || c == ':'
                || c.is_whitespace()
                || c == ')'
        });
        out.push_str(&rest[..at]);
        out.push_str(if ends_path { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod path_tests {
    use super::replace_path_prefix;

    #[test]
    fn only_whole_path_prefixes_are_replaced() {
        assert_eq!(
            replace_path_prefix(
                "cannot open /home/a.parquet: /homework",
                "/home",
                "/data/in"
            ),
            "cannot open /data/in/a.parquet: /homework"
        );
        assert_eq!(replace_path_prefix("`/home`", "/home", "/x"), "`/x`");
    }
}
