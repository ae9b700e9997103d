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
    bars: Mutex<HashMap<String, Bar>>,
}

/// One running flow's line: the bar, when it started, and the rows its home holds.
struct Bar {
    bar: ProgressBar,
    started: Instant,
    total: Option<u64>,
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
                bars.insert(
                    name,
                    Bar {
                        bar,
                        started: Instant::now(),
                        total: None,
                    },
                );
            }
            FlowEvent::Opened { name, total_rows } => {
                if let Some(line) = bars.get_mut(&name) {
                    line.total = total_rows;
                }
            }
            FlowEvent::BatchWritten { name, rows } => {
                if let Some(line) = bars.get(&name) {
                    line.bar.set_message(progress_message(
                        rows,
                        line.total,
                        line.started.elapsed(),
                    ));
                }
            }
            FlowEvent::Retrying {
                name,
                attempt,
                delay,
                error,
            } => {
                if let Some(Bar { bar, .. }) = bars.get(&name) {
                    bar.set_message(format!(
                        "attempt {attempt} failed ({error}); retrying in {:.1}s",
                        delay.as_secs_f64()
                    ));
                }
            }
            FlowEvent::Finished(report) => {
                if let Some(Bar { bar, .. }) = bars.remove(&report.name()) {
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

/// `1,200 rows  600 rows/s`, and with a known total `1,200 of 4,800 rows (25%)  600 rows/s
/// ETA 6s`: the time left at the rate so far.
fn progress_message(rows: u64, total: Option<u64>, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let rate = rows as f64 / seconds;
    match total {
        Some(total) if total > 0 && rows <= total => {
            let percent = rows * 100 / total;
            let left = if rate > 0.0 {
                format!("  ETA {}", human_seconds((total - rows) as f64 / rate))
            } else {
                String::new()
            };
            format!(
                "{} of {} rows ({percent}%)  {} rows/s{left}",
                group(rows),
                group(total),
                group(rate as u64)
            )
        }
        _ => format!("{} rows  {} rows/s", group(rows), group(rate as u64)),
    }
}

/// `45s`, `3m05s`, `2h07m`.
fn human_seconds(seconds: f64) -> String {
    let s = seconds.ceil() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_total_gives_a_percentage_and_the_time_left() {
        assert_eq!(
            progress_message(1_200, Some(4_800), Duration::from_secs(2)),
            "1,200 of 4,800 rows (25%)  600 rows/s  ETA 6s"
        );
        assert_eq!(
            progress_message(600, Some(600_000), Duration::from_secs(1)),
            "600 of 600,000 rows (0%)  600 rows/s  ETA 16m39s"
        );
        assert_eq!(
            progress_message(1_200, None, Duration::from_secs(2)),
            "1,200 rows  600 rows/s"
        );
    }
}
