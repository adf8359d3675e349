//! How answers are printed: a table (the default), JSON or YAML (`-o`).

use clap::ValueEnum;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// A cell's text.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.replace('|', ", "),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Rows under headers, each column as wide as its widest cell (long cells cut).
pub fn table(columns: &[(&str, &str)], rows: &[Value]) -> String {
    const WIDEST: usize = 60;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|(_, field)| {
                    let text = cell(&r[*field]);
                    if text.chars().count() > WIDEST { text.chars().take(WIDEST - 1).chain(std::iter::once('…')).collect() } else { text }
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns.iter().enumerate().map(|(i, (h, _))| cells.iter().map(|r| r[i].chars().count()).chain(std::iter::once(h.len())).max().unwrap_or(0)).collect();
    let line = |values: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, v) in values.iter().enumerate() {
            if i + 1 == values.len() {
                out.push_str(v);
            } else {
                out.push_str(v);
                out.push_str(&" ".repeat(widths[i] - v.chars().count() + 2));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(columns.iter().map(|(h, _)| *h).collect());
    out.push('\n');
    for r in &cells {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A value as JSON or YAML.
pub fn document(format: Format, v: &Value) -> Result<String, String> {
    match format {
        Format::Json | Format::Table => serde_json::to_string_pretty(v).map(|s| s + "\n").map_err(|e| e.to_string()),
        Format::Yaml => serde_saphyr::to_string(v).map_err(|e| e.to_string()),
    }
}

/// A listing in `format`.
pub fn listing(format: Format, columns: &[(&str, &str)], rows: &[Value]) -> Result<String, String> {
    match format {
        Format::Table => Ok(table(columns, rows)),
        other => document(other, &Value::Array(rows.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_line_up() {
        let rows = [json!({"name": "orders", "id": "1", "n": 3, "envs": "RELEASE|STAGE"}), json!({"name": "a", "id": "22", "n": null, "envs": ""})];
        let t = table(&[("NAME", "name"), ("ID", "id"), ("N", "n"), ("ENVS", "envs")], &rows);
        assert_eq!(t, "NAME    ID  N  ENVS\norders  1   3  RELEASE, STAGE\na       22  -  -\n");
    }

    #[test]
    fn documents_are_json_or_yaml() {
        let v = json!({"name": "orders", "n": 1});
        assert_eq!(document(Format::Json, &v).unwrap(), "{\n  \"n\": 1,\n  \"name\": \"orders\"\n}\n");
        let y = document(Format::Yaml, &v).unwrap();
        // `n` alone would read as false in YAML 1.1: it is quoted.
        assert!(y.contains("name: orders") && y.contains("\"n\": 1"), "{y}");
    }
}
