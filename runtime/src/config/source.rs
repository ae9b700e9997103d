//! One parsed YAML file, with the line and column of every key so that any later problem
//! can point at `file:line:column`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use yaml_rust2::parser::{Event, Parser};

use super::diagnostics::{Diagnostic, Location};

/// A YAML file of the project: its path, its parsed value and where each key stands.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    /// Dotted key path (`home.path`, `entities.0.name`) → 1-based line and column.
    positions: HashMap<String, (usize, usize)>,
}

impl SourceFile {
    /// Reads and parses `path`. A syntax error is reported with its line and column.
    pub fn read(path: &Path) -> Result<(SourceFile, Value), Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(format!("cannot read file: {e}")).at(Location::file(path))
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` as the content of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<(SourceFile, Value), Diagnostic> {
        let value: Value = serde_yaml::from_str(text).map_err(|e| {
            let location = match e.location() {
                Some(l) => Location::at(path, l.line(), l.column()),
                None => Location::file(path),
            };
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_string(),
                None => message,
            };
            Diagnostic::new(format!("invalid YAML: {message}")).at(location)
        })?;
        let value = match value {
            Value::Null => Value::Mapping(Default::default()),
            other => other,
        };
        let source = SourceFile {
            path: path.to_path_buf(),
            positions: key_positions(text),
        };
        Ok((source, value))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the key at `dotted` is written in this file.
    pub fn has(&self, dotted: &str) -> bool {
        self.positions.contains_key(dotted)
    }

    /// Where the key at `dotted` stands; the nearest enclosing key if it is not written
    /// in this file; the file alone if nothing matches.
    pub fn locate(&self, dotted: &str) -> Location {
        let mut key = dotted;
        loop {
            if let Some(&(line, column)) = self.positions.get(key) {
                return Location::at(&self.path, line, column);
            }
            match key.rfind('.') {
                Some(cut) => key = &key[..cut],
                None => return Location::file(&self.path),
            }
        }
    }
}

/// Walks the YAML events and records the position of every mapping key and sequence item.
fn key_positions(text: &str) -> HashMap<String, (usize, usize)> {
    enum Frame {
        Mapping {
            expecting_key: bool,
            key: Option<String>,
        },
        Sequence {
            index: usize,
        },
    }
    let mut positions = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut parser = Parser::new_from_str(text);

    // Called when a value (scalar or collection start) is seen in the current frame: returns
    // the path segment it lives under, if any, and advances the frame.
    fn enter_value(stack: &mut [Frame]) -> Option<String> {
        match stack.last_mut() {
            Some(Frame::Mapping { expecting_key, key }) => {
                *expecting_key = true;
                key.take()
            }
            Some(Frame::Sequence { index }) => {
                *index += 1;
                Some((*index - 1).to_string())
            }
            None => None,
        }
    }

    while let Ok((event, marker)) = parser.next_token() {
        let position = (marker.line(), marker.col() + 1);
        match event {
            Event::StreamEnd => break,
            Event::Scalar(text, ..) => {
                if let Some(Frame::Mapping { expecting_key, key }) = stack.last_mut()
                    && *expecting_key
                {
                    *expecting_key = false;
                    path.push(text);
                    positions.insert(dotted(&path), position);
                    *key = path.pop();
                    continue;
                }
                if let Some(segment) = enter_value(&mut stack)
                    && matches!(stack.last(), Some(Frame::Sequence { .. }))
                {
                    path.push(segment);
                    positions.entry(dotted(&path)).or_insert(position);
                    path.pop();
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_mapping = matches!(event, Event::MappingStart(..));
                match enter_value(&mut stack) {
                    Some(segment) => {
                        path.push(segment);
                        positions.entry(dotted(&path)).or_insert(position);
                    }
                    None => path.push(NO_SEGMENT.to_string()),
                }
                stack.push(if is_mapping {
                    Frame::Mapping {
                        expecting_key: true,
                        key: None,
                    }
                } else {
                    Frame::Sequence { index: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                path.pop();
            }
            Event::Alias(_) => {
                enter_value(&mut stack);
            }
            _ => {}
        }
    }
    positions
}

// A collection with no key above it (the document root) pushes this marker, so that every
// collection end pops exactly one segment.
const NO_SEGMENT: &str = "\u{0}";

fn dotted(path: &[String]) -> String {
    let segments: Vec<&str> = path
        .iter()
        .map(String::as_str)
        .filter(|s| *s != NO_SEGMENT)
        .collect();
    segments.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: demo\nhome:\n  type: parquet\n  path: data\nentities:\n  - users\n  - name: orders\n    columns: [id, total]\n";

    #[test]
    fn locates_nested_keys_and_sequence_items() {
        let (source, _) = SourceFile::parse(Path::new("flow.yml"), TEXT).unwrap();
        assert_eq!(source.locate("name").to_string(), "flow.yml:1:1");
        assert_eq!(source.locate("home.path").to_string(), "flow.yml:4:3");
        assert_eq!(
            source.locate("entities.1.columns").to_string(),
            "flow.yml:8:5"
        );
        assert_eq!(source.locate("entities.0").to_string(), "flow.yml:6:5");
    }

    #[test]
    fn unknown_keys_fall_back_to_the_nearest_parent() {
        let (source, _) = SourceFile::parse(Path::new("flow.yml"), TEXT).unwrap();
        assert_eq!(source.locate("home.nope").to_string(), "flow.yml:2:1");
        assert_eq!(source.locate("nothing").to_string(), "flow.yml");
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = SourceFile::parse(Path::new("hygge.yml"), "name: a\n  bad: [\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("hygge.yml:2:"), "{text}");
        assert!(text.contains("invalid YAML"), "{text}");
    }

    #[test]
    fn an_empty_file_is_an_empty_mapping() {
        let (_, value) = SourceFile::parse(Path::new("hygge.yml"), "").unwrap();
        assert!(value.as_mapping().is_some());
    }
}
