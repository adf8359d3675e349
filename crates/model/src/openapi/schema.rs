//! `$ref` resolution inside one document, and examples made from schemas
//! (what a plain OpenAPI operation's mock answers when it gives no example).

use serde_json::{Map, Value};

/// Most `$ref` hops followed for one value (a longer chain is a cycle).
const MAX_REF_HOPS: usize = 32;
/// Deepest nesting an example is built to.
const MAX_EXAMPLE_DEPTH: usize = 8;
/// Most values an example holds (keeps wide, recursive schemas small).
const MAX_EXAMPLE_NODES: usize = 500;

/// Follows `$ref`s (local JSON pointers `#/...`) until a value without one.
/// `Err` names the reference that is external, missing or part of a cycle.
pub fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..MAX_REF_HOPS {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else { return Ok(v) };
        let Some(pointer) = r.strip_prefix('#') else { return Err(format!("external $ref {r} is not supported")) };
        v = doc.pointer(pointer).ok_or_else(|| format!("$ref {r} does not exist"))?;
    }
    Err("a $ref refers to itself".into())
}

/// An example value for `schema`: its own `example`, `default` or first
/// `enum` value, else one built from its type and properties.
pub fn example(doc: &Value, schema: &Value) -> Value {
    let mut budget = MAX_EXAMPLE_NODES;
    build(doc, schema, 0, &mut budget)
}

fn build(doc: &Value, schema: &Value, depth: usize, budget: &mut usize) -> Value {
    if *budget == 0 || depth > MAX_EXAMPLE_DEPTH {
        return Value::Null;
    }
    *budget -= 1;
    let Ok(s) = resolve(doc, schema) else { return Value::Null };
    for key in ["example", "default"] {
        if let Some(v) = s.get(key) {
            return v.clone();
        }
    }
    if let Some(first) = s.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            match build(doc, part, depth + 1, budget) {
                Value::Object(m) => merged.extend(m),
                other if merged.is_empty() => return other,
                _ => {}
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
            return build(doc, first, depth + 1, budget);
        }
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        // OpenAPI 3.1 style type lists: the first that is not null.
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if s.get("properties").is_some() => "object",
        _ if s.get("items").is_some() => "array",
        _ => "",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (name, p) in props {
                    if *budget == 0 {
                        break;
                    }
                    out.insert(name.clone(), build(doc, p, depth + 1, budget));
                }
            }
            Value::Object(out)
        }
        "array" => match s.get("items") {
            Some(items) => Value::Array(vec![build(doc, items, depth + 1, budget)]),
            None => Value::Array(vec![]),
        },
        "integer" => Value::from(0),
        "number" => Value::from(0.0),
        "boolean" => Value::Bool(true),
        "string" => Value::String(
            match s.get("format").and_then(Value::as_str).unwrap_or("") {
                "date-time" => "2024-01-01T00:00:00Z",
                "date" => "2024-01-01",
                "uuid" => "00000000-0000-0000-0000-000000000000",
                "email" => "user@example.com",
                "uri" | "url" => "https://example.com/",
                _ => "string",
            }
            .into(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_followed_and_cycles_refused() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"x": 1}, "c": {"$ref": "#/d"}, "d": {"$ref": "#/c"}});
        assert_eq!(resolve(&doc, &doc["a"]).unwrap(), &json!({"x": 1}));
        assert!(resolve(&doc, &doc["c"]).unwrap_err().contains("itself"));
        assert!(resolve(&doc, &json!({"$ref": "#/nope"})).unwrap_err().contains("does not exist"));
        assert!(resolve(&doc, &json!({"$ref": "other.yaml#/x"})).unwrap_err().contains("external"));
    }

    #[test]
    fn examples_come_from_the_schema() {
        let doc = json!({"definitions": {
            "Pet": {"type": "object", "properties": {
                "id": {"type": "integer"}, "name": {"type": "string", "example": "doggie"},
                "status": {"type": "string", "enum": ["available", "sold"]},
                "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
                "parent": {"$ref": "#/definitions/Pet"}}},
            "Tag": {"type": "object", "properties": {"name": {"type": "string"}}}}});
        let ex = example(&doc, &json!({"$ref": "#/definitions/Pet"}));
        assert_eq!(ex["id"], 0);
        assert_eq!(ex["name"], "doggie");
        assert_eq!(ex["status"], "available");
        assert_eq!(ex["tags"], json!([{"name": "string"}]));
        // The recursive property ends at the depth limit instead of looping.
        assert!(ex["parent"]["parent"].is_object());
        assert!(serde_json::to_string(&ex).unwrap().len() < 100_000);
    }
}
