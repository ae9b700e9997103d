//! Log output: tracing to standard error, levels from -v/-q (else hygge.yml
//! `options.log_level`), kept clear of live progress lines.

use std::io::{self, IsTerminal, Write};

use indicatif::{MultiProgress, ProgressDrawTarget};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::reload;

/// The output channels of one invocation.
pub struct Output {
    /// Live progress, when standard error is a terminal.
    pub progress: Option<MultiProgress>,
    level_from_cli: bool,
    reload: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
}

impl Output {
    /// Applies hygge.yml `options.log_level` unless -v/-q or `HYGGE_LOG` said otherwise.
    pub fn set_project_level(&self, level: Option<&str>) {
        if self.level_from_cli {
            return;
        }
        if let Some(level) = level {
            let level = match level.to_ascii_lowercase().as_str() {
                "warning" => "warn".to_string(),
                other => other.to_string(),
            };
            let _ = self.reload.modify(|f| *f = filter(&level));
        }
    }
}

fn filter(level: &str) -> EnvFilter {
    // tiberius warns on every connection without TLS; the mssql connector says it once per
    // connection pool instead.
    EnvFilter::new(format!(
        "{level},hygge={level},hygge_runtime={level},hygge_native_connectors={level},tiberius=error"
    ))
}

/// Sets up logging for `verbose`/`quiet` counts.
pub fn init(verbose: u8, quiet: u8) -> Output {
    let terminal = io::stderr().is_terminal();
    let env = std::env::var("HYGGE_LOG").ok();
    let level = match (verbose, quiet) {
        (0, 0) if terminal => "warn",
        (0, 0) => "info",
        (1, _) => "debug",
        (v, _) if v >= 2 => "trace",
        (_, 1) => "warn",
        _ => "error",
    };
    let (layer, reload) = reload::Layer::new(
        env.as_deref()
            .map(EnvFilter::new)
            .unwrap_or_else(|| filter(level)),
    );
    let progress = terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let writer = ProgressAwareWriter(progress.clone());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(terminal)
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(fmt)
        .try_init();
    Output {
        progress,
        level_from_cli: verbose > 0 || quiet > 0 || env.is_some(),
        reload,
    }
}

/// Writes log lines to standard error, hiding progress lines while it does.
#[derive(Clone)]
struct ProgressAwareWriter(Option<MultiProgress>);

impl Write for ProgressAwareWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.0 {
            Some(multi) => multi.suspend(|| io::stderr().write_all(buf))?,
            None => io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for ProgressAwareWriter {
    type Writer = ProgressAwareWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
