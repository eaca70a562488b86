//! What a command prints on success: one JSON object with `--output json`, or the same
//! fields as aligned `key  value` lines for people.

use serde_json::Value;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned `key  value` lines.
    Text,
    /// One JSON object on one line.
    Json,
}

/// Prints `value` in `format` to stdout.
pub fn emit(format: OutputFormat, value: &Value) {
    match format {
        OutputFormat::Json => println!("{value}"),
        OutputFormat::Text => print!("{}", render_text(value)),
    }
}

/// `value` as `key  value` lines; nested objects use dotted keys and arrays of scalars are
/// comma-separated.
pub fn render_text(value: &Value) -> String {
    let mut rows = Vec::new();
    flatten("", value, &mut rows);
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        if key.is_empty() {
            out.push_str(&value);
        } else {
            out.push_str(&format!("{key:<width$}  {value}"));
        }
        out.push('\n');
    }
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                flatten(&join(key), value, rows);
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let joined = items.iter().map(scalar).collect::<Vec<_>>().join(", ");
            rows.push((
                prefix.to_string(),
                if joined.is_empty() {
                    "-".into()
                } else {
                    joined
                },
            ));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), item, rows);
            }
        }
        other => rows.push((prefix.to_string(), scalar(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_flatten_into_aligned_lines() {
        let text = render_text(&json!({
            "network": "abc",
            "fees": {"onboarding": 40, "location": 10},
            "oracles": ["a", "b"],
            "pending": null,
            "skipped": [{"device": "d", "reason": "r"}],
        }));
        // serde_json keeps object keys sorted
        assert_eq!(
            text,
            "fees.location     10\n\
             fees.onboarding   40\n\
             network           abc\n\
             oracles           a, b\n\
             pending           -\n\
             skipped.0.device  d\n\
             skipped.0.reason  r\n"
        );
    }
}
