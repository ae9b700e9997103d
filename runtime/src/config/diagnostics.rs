//! Typed configuration problems: where (file, line, column, key), what, and what to try.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in the project's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    file: PathBuf,
    line: Option<(usize, usize)>,
}

impl Location {
    /// A whole file.
    pub fn file(path: &Path) -> Self {
        Location {
            file: path.to_path_buf(),
            line: None,
        }
    }

    /// A line and column (1-based) in a file.
    pub fn at(path: &Path, line: usize, column: usize) -> Self {
        Location {
            file: path.to_path_buf(),
            line: Some((line, column)),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.file
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.line {
            write!(f, ":{line}:{column}")?;
        }
        Ok(())
    }
}

/// One problem in a project's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    location: Option<Location>,
    key: Option<String>,
    message: String,
    hint: Option<String>,
}

impl Diagnostic {
    /// A problem described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            location: None,
            key: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Where it is.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Which key (dotted path) it concerns.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// What to try.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint only when there is one.
    pub fn maybe_hint(self, hint: Option<String>) -> Self {
        match hint {
            Some(h) => self.hint(h),
            None => self,
        }
    }

    /// The message alone.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The problem as a JSON object (`file`, `line`, `column`, `key`, `message`, `hint`;
    /// absent parts are null), for `--json` output.
    pub fn to_json(&self) -> serde_json::Value {
        let (line, column) = self
            .location
            .as_ref()
            .and_then(|l| l.line)
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        serde_json::json!({
            "file": self.location.as_ref().map(|l| l.file.display().to_string()),
            "line": line,
            "column": column,
            "key": self.key,
            "message": self.message,
            "hint": self.hint,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in a project, reported together before any data moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Records a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `Ok(value)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the project configuration:",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.0 {
            writeln!(f, "  - {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// "did you mean `x`?" for `unknown` among `candidates`, when one is close enough.
pub fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(unknown, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_key() {
        assert_eq!(
            did_you_mean("comression", ["path", "compression", "format"]).as_deref(),
            Some("did you mean `compression`?")
        );
        assert_eq!(did_you_mean("zzz", ["path", "format"]), None);
    }

    #[test]
    fn renders_location_key_message_and_hint() {
        let d = Diagnostic::new("unknown key")
            .at(Location::at(Path::new("flows/a/flow.yml"), 3, 5))
            .key("home.fromat")
            .hint("did you mean `format`?");
        assert_eq!(
            d.to_string(),
            "flows/a/flow.yml:3:5: `home.fromat`: unknown key\n    hint: did you mean `format`?"
        );
    }
}
