//! Live progress on a terminal: one line per running flow with rows and rows/s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hygge_runtime::events::{EventSink, FlowEvent, FlowStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::summary::group;

/// An [`EventSink`] drawing one progress line per running flow.
pub struct LiveProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, (ProgressBar, Instant)>>,
}

impl LiveProgress {
    /// Progress drawn on standard error.
    pub fn new(multi: MultiProgress) -> Self {
        LiveProgress {
            multi,
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl EventSink for LiveProgress {
    fn emit(&self, event: FlowEvent) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        match event {
            FlowEvent::Started { name } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(name.clone());
                bar.set_message("starting");
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(name, (bar, Instant::now()));
            }
            FlowEvent::BatchWritten { name, rows } => {
                if let Some((bar, started)) = bars.get(&name) {
                    let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    bar.set_message(format!(
                        "{} rows  {} rows/s",
                        group(rows),
                        group(rate as u64)
                    ));
                }
            }
            FlowEvent::Retrying {
                name,
                attempt,
                delay,
                error,
            } => {
                if let Some((bar, _)) = bars.get(&name) {
                    bar.set_message(format!(
                        "attempt {attempt} failed ({error}); retrying in {:.1}s",
                        delay.as_secs_f64()
                    ));
                }
            }
            FlowEvent::Finished(report) => {
                if let Some((bar, _)) = bars.remove(&report.name()) {
                    let text = match report.status {
                        FlowStatus::Succeeded => format!(
                            "done: {} rows in {:.2}s",
                            group(report.rows),
                            report.seconds
                        ),
                        FlowStatus::Failed => "FAILED".to_string(),
                        FlowStatus::Skipped => "skipped".to_string(),
                    };
                    bar.finish_with_message(text);
                }
            }
        }
    }
}
