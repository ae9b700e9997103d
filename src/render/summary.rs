//! The end-of-run summary: a table for people, JSON for machines.

use std::fmt::Write;

use hygge_runtime::coordinator::RunSummary;
use hygge_runtime::events::FlowStatus;

/// The summary as an aligned table with totals, then the error of each failed flow.
pub fn table(summary: &RunSummary) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "FLOW".into(),
        "ENTITY".into(),
        "STATUS".into(),
        "ROWS".into(),
        "SECONDS".into(),
        "ROWS/S".into(),
    ]];
    for f in &summary.flows {
        rows.push([
            f.flow.clone(),
            f.entity.clone(),
            status(f.status).into(),
            group(f.rows),
            format!("{:.2}", f.seconds),
            group(f.rows_per_second() as u64),
        ]);
    }
    let ok = summary
        .flows
        .iter()
        .filter(|f| f.status == FlowStatus::Succeeded)
        .count();
    let rate = if summary.seconds > 0.0 {
        summary.total_rows() as f64 / summary.seconds
    } else {
        0.0
    };
    let mut flows: Vec<&str> = summary.flows.iter().map(|f| f.flow.as_str()).collect();
    flows.sort_unstable();
    flows.dedup();
    rows.push([
        format!("TOTAL {}", plural(flows.len(), "flow", "flows")),
        plural(summary.flows.len(), "entity", "entities"),
        format!("{ok} ok"),
        group(summary.total_rows()),
        format!("{:.2}", summary.seconds),
        group(rate as u64),
    ]);
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i == rows.len() - 1 {
            let _ = writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 10));
        }
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c >= 3 {
                    format!("{cell:>w$}", w = widths[c])
                } else {
                    format!("{cell:<w$}", w = widths[c])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    for f in summary
        .flows
        .iter()
        .filter(|f| f.status == FlowStatus::Failed)
    {
        if let Some(e) = &f.error {
            let _ = writeln!(out, "\nerror [{}]: {}", e.kind, e.message);
        }
    }
    let skipped = summary
        .flows
        .iter()
        .filter(|f| f.status == FlowStatus::Skipped)
        .count();
    if skipped > 0 {
        let _ = writeln!(
            out,
            "\n{skipped} flow(s) skipped after a failure; set options.continue_on_error: true to run them anyway"
        );
    }
    out
}

/// `1 flow`, `2 flows`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary as pretty JSON.
pub fn json(summary: &RunSummary) -> String {
    serde_json::to_string_pretty(summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn status(s: FlowStatus) -> &'static str {
    match s {
        FlowStatus::Succeeded => "ok",
        FlowStatus::Failed => "FAILED",
        FlowStatus::Skipped => "skipped",
    }
}

/// 1234567 → "1,234,567".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_234_567), "1,234,567");
    }
}
