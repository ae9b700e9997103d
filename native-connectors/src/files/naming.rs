//! Names of written files: `file_pattern` with `{sequence}`, `{sequence:0Nd}`, `{run_id}`,
//! `{name}` and `{flow_name}` (Python hygge's placeholders).

use std::path::Path;

use hygge_runtime::contract::ConfigProblem;

/// The default pattern: unique to the run, so no run overwrites another's files.
pub const DEFAULT_PATTERN: &str = "part-{run_id}-{sequence:05d}";

/// A checked `file_pattern`.
#[derive(Debug, Clone)]
pub struct FilePattern {
    pattern: String,
    suffix: &'static str,
}

impl FilePattern {
    /// Checks `pattern`: known placeholders only, `{sequence}` or `{run_id}` present, no
    /// path separators. The format's suffix is added when the pattern lacks it.
    pub fn new(pattern: Option<&str>, suffix: &'static str) -> Result<FilePattern, ConfigProblem> {
        let pattern = pattern.unwrap_or(DEFAULT_PATTERN).to_string();
        let bad = |m: String| {
            ConfigProblem::key("file_pattern", m).hint(format!("e.g. `{DEFAULT_PATTERN}`"))
        };
        if pattern.contains(['/', '\\']) {
            return Err(bad("cannot contain path separators".into()));
        }
        let mut rest = pattern.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| bad("has an unclosed `{`".into()))?
                + open;
            let inner = &rest[open + 1..close];
            let name = inner.split(':').next().unwrap_or_default();
            if !["sequence", "run_id", "name", "flow_name"].contains(&name) {
                return Err(bad(format!(
                    "unknown placeholder `{{{inner}}}`; use sequence, run_id, name or flow_name"
                )));
            }
            if name == "sequence" && inner.contains(':') && zero_width(inner).is_none() {
                return Err(bad(format!(
                    "`{{{inner}}}`: only a width like `{{sequence:020d}}` is supported"
                )));
            }
            rest = &rest[close + 1..];
        }
        if !pattern.contains("{sequence") && !pattern.contains("{run_id}") {
            return Err(bad(
                "must contain {sequence} or {run_id}, or files would overwrite each other".into(),
            ));
        }
        Ok(FilePattern { pattern, suffix })
    }

    /// Whether names are unique per run without looking at existing files.
    pub fn has_run_id(&self) -> bool {
        self.pattern.contains("{run_id}")
    }

    /// Whether names are numbered, so that one run can write several files in a folder.
    pub fn has_sequence(&self) -> bool {
        self.pattern.contains("{sequence")
    }

    /// The file name for one file.
    pub fn render(&self, sequence: u64, run_id: &str, entity: &str, flow: &str) -> String {
        let mut out = String::new();
        let mut rest = self.pattern.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| c + open);
            let inner = &rest[open + 1..close];
            match inner.split(':').next().unwrap_or_default() {
                "sequence" => match zero_width(inner) {
                    Some(width) => out.push_str(&format!("{sequence:0width$}")),
                    None => out.push_str(&sequence.to_string()),
                },
                "run_id" => out.push_str(run_id),
                "name" => out.push_str(entity),
                "flow_name" => out.push_str(flow),
                _ => {}
            }
            rest = rest.get(close + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        if !out.ends_with(self.suffix) {
            out.push_str(self.suffix);
        }
        out
    }
}

/// `sequence:020d` → 20.
fn zero_width(inner: &str) -> Option<usize> {
    inner
        .split_once(':')?
        .1
        .strip_prefix('0')?
        .strip_suffix('d')?
        .parse()
        .ok()
}

/// The highest number that is a whole file stem among `files` (Python hygge continued its
/// sequence after it).
pub fn highest_sequence(files: &[std::path::PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| Path::new(f).file_stem()?.to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_python_and_default_patterns() {
        let p = FilePattern::new(Some("{sequence:020d}"), ".parquet").unwrap();
        assert_eq!(p.render(7, "r", "e", "f"), "00000000000000000007.parquet");
        let p = FilePattern::new(None, ".csv").unwrap();
        assert_eq!(
            p.render(1, "20261120T000000Z-abc", "e", "f"),
            "part-20261120T000000Z-abc-00001.csv"
        );
        let p =
            FilePattern::new(Some("{flow_name}_{name}_{sequence}.parquet"), ".parquet").unwrap();
        assert_eq!(p.render(3, "r", "users", "crm"), "crm_users_3.parquet");
    }

    #[test]
    fn rejects_patterns_that_would_overwrite_or_escape() {
        for bad in [
            "static.parquet",
            "a/{sequence}",
            "{timestamp}_{sequence}",
            "{sequence:x}",
        ] {
            assert!(FilePattern::new(Some(bad), ".parquet").is_err(), "{bad}");
        }
    }

    #[test]
    fn highest_sequence_reads_numeric_stems() {
        let files = vec![
            "00000000000000000002.parquet".into(),
            "p=1/00000000000000000009.parquet".into(),
            "x.parquet".into(),
        ];
        assert_eq!(highest_sequence(&files), 9);
    }
}
