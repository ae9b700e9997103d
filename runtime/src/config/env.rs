//! `${VAR}` and `${VAR:-default}` in every string of every file, with a `.env` file beside
//! `hygge.yml` as a fallback for the real environment.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml::Value;

use super::diagnostics::{Diagnostic, Location};
use super::source::SourceFile;

/// The variables `${…}` can name: the process environment first, then `.env`.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    dotenv: HashMap<String, String>,
    overrides: HashMap<String, String>,
}

impl Environment {
    /// The process environment plus the `.env` file in `project_dir`, if there is one.
    pub fn load(project_dir: &Path) -> Result<Environment, Diagnostic> {
        let path = project_dir.join(".env");
        let mut dotenv = HashMap::new();
        if path.is_file() {
            let iter = dotenvy::from_path_iter(&path).map_err(|e| {
                Diagnostic::new(format!("cannot read .env: {e}")).at(Location::file(&path))
            })?;
            for item in iter {
                let (key, value) = item.map_err(|e| {
                    Diagnostic::new(format!("invalid .env line: {e}"))
                        .at(Location::file(&path))
                        .hint("each line must be KEY=value")
                })?;
                dotenv.insert(key, value);
            }
        }
        Ok(Environment {
            dotenv,
            overrides: HashMap::new(),
        })
    }

    /// An environment with fixed values that win over everything (for tests).
    pub fn with_override(mut self, key: &str, value: &str) -> Self {
        self.overrides.insert(key.to_string(), value.to_string());
        self
    }

    fn get(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .or_else(|| self.dotenv.get(name).cloned())
    }

    /// Replaces every `${…}` in the string scalars of `value`, in place. Problems are pushed
    /// to `problems` with the key they were found under.
    pub fn interpolate(
        &self,
        value: &mut Value,
        source: &SourceFile,
        base: &str,
        problems: &mut Vec<Diagnostic>,
    ) {
        self.walk(value, source, base.to_string(), problems);
    }

    fn walk(
        &self,
        value: &mut Value,
        source: &SourceFile,
        key: String,
        problems: &mut Vec<Diagnostic>,
    ) {
        match value {
            Value::String(text) if text.contains("${") => match self.expand(text) {
                Ok(expanded) => {
                    let whole = text.trim().starts_with("${") && text.trim().ends_with('}')
                        && text.matches("${").count() == 1;
                    *value = if whole {
                        typed_scalar(&expanded)
                    } else {
                        Value::String(expanded)
                    };
                }
                Err(message) => problems.push(
                    Diagnostic::new(message)
                        .at(source.locate(&key))
                        .key(key.clone())
                        .hint("set it in the environment or in .env beside hygge.yml, or write ${NAME:-default}"),
                ),
            },
            Value::Mapping(map) => {
                for (k, v) in map.iter_mut() {
                    let name = key_name(k);
                    let child = if key.is_empty() { name } else { format!("{key}.{name}") };
                    self.walk(v, source, child, problems);
                }
            }
            Value::Sequence(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    let child = if key.is_empty() { i.to_string() } else { format!("{key}.{i}") };
                    self.walk(v, source, child, problems);
                }
            }
            _ => {}
        }
    }

    /// Expands the references in one string.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {text:?}"))?;
            let reference = &after[..end];
            let (name, default) = match reference.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (reference, None),
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("empty variable name in {text:?}"));
            }
            match (self.get(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable `{name}` is not set and has no default"
                    ));
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The text of a mapping key, for key paths.
pub(crate) fn key_name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A whole-string reference like `${PORT}` becomes the YAML scalar its value spells, so that
/// numbers and booleans keep their types.
fn typed_scalar(text: &str) -> Value {
    match serde_yaml::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::default()
            .with_override("HYGGE_TEST_USER", "ada")
            .with_override("HYGGE_TEST_PORT", "1433")
    }

    #[test]
    fn expands_variables_and_defaults() {
        let e = env();
        assert_eq!(e.expand("u=${HYGGE_TEST_USER}").unwrap(), "u=ada");
        assert_eq!(
            e.expand("${HYGGE_TEST_NOPE_X:-fallback}/x").unwrap(),
            "fallback/x"
        );
        assert_eq!(e.expand("${HYGGE_TEST_NOPE_X:-}").unwrap(), "");
        assert_eq!(e.expand("plain").unwrap(), "plain");
    }

    #[test]
    fn unset_without_default_is_an_error_naming_variable_file_and_key() {
        let (source, mut value) = SourceFile::parse(
            Path::new("flows/a/flow.yml"),
            "store:\n  path: ${HYGGE_TEST_MISSING_VAR}\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        env().interpolate(&mut value, &source, "", &mut problems);
        assert_eq!(problems.len(), 1);
        let text = problems[0].to_string();
        assert!(text.contains("HYGGE_TEST_MISSING_VAR"), "{text}");
        assert!(text.starts_with("flows/a/flow.yml:2:"), "{text}");
        assert!(text.contains("`store.path`"), "{text}");
    }

    #[test]
    fn whole_references_keep_number_types() {
        let (source, mut value) = SourceFile::parse(
            Path::new("hygge.yml"),
            "port: ${HYGGE_TEST_PORT}\nname: db-${HYGGE_TEST_PORT}\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        env().interpolate(&mut value, &source, "", &mut problems);
        assert!(problems.is_empty());
        assert_eq!(value["port"], Value::Number(1433.into()));
        assert_eq!(value["name"], Value::String("db-1433".into()));
    }

    #[test]
    fn dotenv_is_read_and_the_real_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "HYGGE_TEST_FROM_DOTENV=from-file\nPATH=not-the-path\n",
        )
        .unwrap();
        let e = Environment::load(dir.path()).unwrap();
        assert_eq!(e.expand("${HYGGE_TEST_FROM_DOTENV}").unwrap(), "from-file");
        assert_ne!(e.expand("${PATH}").unwrap(), "not-the-path");
    }
}
