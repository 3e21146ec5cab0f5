//! Checks a JSON value against a field table of a Markdown document under spec/
//! (`| path | type | required | meaning |`), both ways: every documented required field is
//! present with a documented type, and every field below a documented path with documented
//! children is itself documented. Paths: `a.b` is field `b` of object `a`, `a[]` an element of
//! array `a`; `[]` alone is an element of a top-level array.
#![allow(dead_code)]

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Field {
    pub path: String,
    pub types: Vec<String>,
    pub required: bool,
}

/// The first field table after the heading that contains `heading`.
pub fn documented(doc: &str, heading: &str) -> Vec<Field> {
    let mut lines = doc
        .lines()
        .skip_while(|l| !(l.starts_with('#') && l.contains(heading)));
    lines
        .next()
        .unwrap_or_else(|| panic!("no heading {heading:?}"));
    let mut fields = Vec::new();
    let mut in_table = false;
    for line in lines {
        if line.starts_with("| path |") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line
            .split(" | ")
            .map(|c| c.trim_matches(['|', ' ']))
            .collect();
        if cells[0].starts_with("---") {
            continue;
        }
        let path = cells[0].trim_matches('`').to_string();
        let types = cells[1]
            .split(" or ")
            .map(|t| t.trim().to_string())
            .collect();
        let required = match cells[2] {
            "yes" => true,
            "no" => false,
            other => panic!("{path}: required must be yes or no, not {other:?}"),
        };
        fields.push(Field {
            path,
            types,
            required,
        });
    }
    assert!(!fields.is_empty(), "no field table under {heading:?}");
    fields
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn has_children(fields: &[Field], path: &str) -> bool {
    fields.iter().any(|f| {
        f.path.len() > path.len()
            && f.path.starts_with(path)
            && (path.is_empty() || f.path[path.len()..].starts_with(['.', '[']))
    })
}

/// Every disagreement between `value` (found at `path`) and the table.
pub fn check(value: &Value, fields: &[Field], path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(field) = fields.iter().find(|f| f.path == path) {
        let actual = type_of(value);
        if !field.types.iter().any(|t| t == actual) {
            errors.push(format!(
                "{path}: documented as {}, found {actual}",
                field.types.join(" or ")
            ));
        }
    }
    match value {
        Value::Object(map) => {
            if !has_children(fields, path) {
                return errors;
            }
            for field in fields.iter().filter(|f| f.required) {
                if let Some(key) = field
                    .path
                    .strip_prefix(&if path.is_empty() {
                        String::new()
                    } else {
                        format!("{path}.")
                    })
                    .filter(|k| !k.contains(['.', '[']))
                {
                    if !map.contains_key(key) {
                        errors.push(format!("{}: required but absent", field.path));
                    }
                }
            }
            for (key, child) in map {
                let child_path = join(path, key);
                if fields.iter().any(|f| f.path == child_path) {
                    errors.extend(check(child, fields, &child_path));
                } else {
                    errors.push(format!("{child_path}: present but not documented"));
                }
            }
        }
        Value::Array(items) => {
            let element = format!("{path}[]");
            if fields.iter().any(|f| f.path == element) {
                for item in items {
                    errors.extend(check(item, fields, &element));
                }
            }
        }
        _ => {}
    }
    errors.sort();
    errors.dedup();
    errors
}
