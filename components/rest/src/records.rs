//! From a page's JSON body to flat records: find the array of records, then turn nested
//! objects into `parent__child` fields, down to `flatten.max_depth` levels; deeper objects
//! and every array stay JSON text.

use hygge_component_sdk::Failure;
use serde_json::{Map, Value};

/// The value at a dotted `path` (`data.items`) of `body`, if there is one.
pub fn at_path<'v>(body: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(body, |value, key| match value {
            Value::Object(map) => map.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// The records of one page, taken out of `body` (what else it holds stays, for the next
/// link, cursor or total): at `path`, or else the body when it is an array, or its only
/// array field, or the body itself as one record. `page` names the page in messages.
///
/// # Errors
/// A data error when `path` is not in the body, or the body holds several arrays and no
/// `records:` says which.
pub fn records_of(body: &mut Value, path: Option<&str>, page: &str) -> Result<Vec<Value>, Failure> {
    let keys = |body: &Value| match body {
        Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
        _ => String::new(),
    };
    if let Some(path) = path {
        let found = path
            .split('.')
            .filter(|p| !p.is_empty())
            .try_fold(&mut *body, |value, key| match value {
                Value::Object(map) => map.get_mut(key),
                Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                _ => None,
            });
        return match found {
            Some(Value::Array(items)) => Ok(std::mem::take(items)),
            Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(one)) => Ok(vec![Value::Object(std::mem::take(one))]),
            Some(other) => Err(Failure::data(format!(
                "{page}: `records: {path}` is {}, not an array of records",
                kind(other)
            ))),
            None => Err(Failure::data(format!(
                "{page} has no `{path}`; set `records:` to the dotted path of the array of records (the body's keys: {})",
                keys(body)
            ))),
        };
    }
    match body {
        Value::Array(items) => Ok(std::mem::take(items)),
        Value::Null => Ok(Vec::new()),
        Value::Object(map) => {
            let arrays: Vec<String> = map
                .iter()
                .filter(|(_, v)| v.is_array())
                .map(|(k, _)| k.clone())
                .collect();
            match arrays.as_slice() {
                [] => Ok(vec![Value::Object(map.clone())]),
                [one] => match map.get_mut(one) {
                    Some(Value::Array(items)) => Ok(std::mem::take(items)),
                    _ => Ok(Vec::new()),
                },
                several => Err(Failure::data(format!(
                    "{page} holds several arrays ({}); set `records:` to the one that holds the records",
                    several.join(", ")
                ))),
            }
        }
        other => Err(Failure::data(format!(
            "{page} is {}, not records",
            kind(other)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `record` as one level of fields. A record that is not an object becomes `{value: …}`.
pub fn flatten(record: Value, max_depth: Option<usize>) -> Map<String, Value> {
    let mut out = Map::new();
    match record {
        Value::Object(map) => flatten_into(&mut out, "", map, max_depth.unwrap_or(usize::MAX)),
        other => {
            out.insert("value".into(), scalar(other));
        }
    }
    out
}

fn flatten_into(out: &mut Map<String, Value>, prefix: &str, map: Map<String, Value>, depth: usize) {
    for (key, value) in map {
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}__{key}")
        };
        match value {
            Value::Object(inner) if depth > 0 => flatten_into(out, &name, inner, depth - 1),
            other => {
                out.insert(name, scalar(other));
            }
        }
    }
}

/// Objects and arrays as JSON text; everything else as it is.
fn scalar(value: Value) -> Value {
    match value {
        Value::Object(_) | Value::Array(_) => Value::String(value.to_string()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn records_are_found_by_path_or_by_shape() {
        let body = json!({"data": {"items": [{"id": 1}, {"id": 2}]}, "meta": {"total": 2}});
        assert_eq!(
            records_of(&mut body.clone(), Some("data.items"), "p")
                .unwrap()
                .len(),
            2
        );
        let error = records_of(&mut body.clone(), Some("data.rows"), "page 1").unwrap_err();
        assert!(
            error.message.contains("data.rows") && error.message.contains("data, meta"),
            "{}",
            error.message
        );
        assert_eq!(
            records_of(&mut json!([{"a": 1}]), None, "p").unwrap().len(),
            1
        );
        assert_eq!(
            records_of(&mut json!({"results": [1, 2, 3], "next": null}), None, "p")
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            records_of(&mut json!({"id": 7}), None, "p").unwrap(),
            vec![json!({"id": 7})]
        );
        let error = records_of(&mut json!({"a": [], "b": []}), None, "p").unwrap_err();
        assert!(error.message.contains("a, b"), "{}", error.message);
        assert!(
            records_of(&mut json!({"data": null}), Some("data"), "p")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn nested_objects_flatten_to_the_depth_asked_and_arrays_stay_json() {
        let record = json!({"id": 1, "customer": {"name": "Å", "address": {"city": "x", "geo": {"lat": 1}}}, "tags": ["a", "b"]});
        let two = flatten(record.clone(), Some(2));
        assert_eq!(two["customer__address__city"], json!("x"));
        assert_eq!(two["customer__address__geo"], json!("{\"lat\":1}"));
        assert_eq!(two["tags"], json!("[\"a\",\"b\"]"));
        let all = flatten(record.clone(), None);
        assert_eq!(all["customer__address__geo__lat"], json!(1));
        let none = flatten(record, Some(0));
        assert_eq!(
            none["customer"].as_str().map(|s| s.starts_with('{')),
            Some(true)
        );
        assert_eq!(flatten(json!(5), None)["value"], json!(5));
    }
}
