//! The management API described as an OpenAPI 3.0 document, served at
//! `GET /openapi.json` on the admin listener. What each route takes and
//! answers is read from the routers and handlers by `generate.py` into
//! `operations.json` (a test fails when they disagree); here it is laid out
//! for every path family, with the error answers every call can get.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::service::Instance;

/// Every route and body schema (see `generate.py`).
const OPERATIONS: &str = include_str!("operations.json");

/// Where each family's resources are: (name, prefix, paged by offset rather than page number).
const FAMILIES: &[(&str, &str, bool)] = &[
    ("v1.0", "/v1.0/apigw", false),
    ("V1", "/v1/{project_id}/apigw/instances/{instance_id}", false),
    ("V2", "/v2/{project_id}/apigw/instances/{instance_id}", true),
    ("ROMA-V1", "/v1/{project_id}/apic/instances/{instance_id}", true),
    ("ROMA-V2", "/v2/{project_id}/apic/instances/{instance_id}", true),
];

/// The body schemas by type name (`ApiInput`, `GroupInput`, …), with
/// `#/components/schemas/…` references between them: what each call takes.
pub fn schemas() -> Value {
    serde_json::from_str::<Value>(OPERATIONS).map(|d| d["schemas"].clone()).unwrap_or(Value::Null)
}

/// The document as JSON text (built once per process).
pub fn document(instance: &Instance) -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| build(instance).to_string())
}

fn build(instance: &Instance) -> Value {
    let data: Value = serde_json::from_str(OPERATIONS).unwrap_or(Value::Null);
    let mut paths = Map::new();
    let ops = data["operations"].as_array().cloned().unwrap_or_default();
    for &(family, prefix, offset_paging) in FAMILIES {
        for op in &ops {
            let route = op["path"].as_str().unwrap_or_default();
            // The V2 router's own routes are not under v1.0.
            if op["families"] == "instance" && family == "v1.0" {
                continue;
            }
            // `/instances` lists instances: it is the family's `.../instances` itself.
            let path = if route == "/instances" {
                prefix.trim_end_matches("/{instance_id}").to_string()
            } else {
                format!("{prefix}{route}")
            };
            let method = op["method"].as_str().unwrap_or("GET").to_ascii_lowercase();
            let item = paths.entry(path.clone()).or_insert_with(|| json!({}));
            item[method.as_str()] = operation(family, &path, op, offset_paging, &instance.id);
        }
    }
    paths.insert(
        "/openapi.json".into(),
        json!({"get": {"operationId": "describe", "tags": ["description"], "summary": "This document", "security": [],
            "responses": {"200": {"description": "The management API as OpenAPI 3.0", "content": {"application/json": {"schema": {"type": "object"}}}}}}}),
    );
    let mut schemas = data["schemas"].as_object().cloned().unwrap_or_default();
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error_code", "error_msg"], "properties": {
            "error_code": {"type": "string", "pattern": "^APIG\\.[0-9]{4}$"}, "error_msg": {"type": "string"}, "request_id": {"type": "string"}}}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Causeway management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every management path family: v1.0 (/v1.0/apigw), the dedicated V1 and V2 instance families, and ROMA Connect's APIC. \
                Calls authenticate with X-Auth-Token (the admin token or a TOKEN credential) or an SDK-HMAC-SHA256 signature (an AKSK credential)."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "adminToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "sdkSignature": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=... with X-Sdk-Date"}
            }
        },
        "security": [{"adminToken": []}, {"sdkSignature": []}]
    })
}

fn operation(family: &str, path: &str, op: &Value, offset_paging: bool, instance_id: &str) -> Value {
    let route = op["path"].as_str().unwrap_or_default();
    let method = op["method"].as_str().unwrap_or("GET");
    let resource = route.trim_start_matches('/').split('/').next().unwrap_or("api");
    let id_slug: String = route.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let mut parameters: Vec<Value> = Vec::new();
    for name in path_params(path) {
        let schema = match name.as_str() {
            "instance_id" => json!({"type": "string", "enum": [instance_id]}),
            "project_id" => json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
            _ => json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
        };
        parameters.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
    }
    for q in op["query"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        parameters.push(json!({"name": q, "in": "query", "required": false, "schema": {"type": "string", "maxLength": 64}}));
    }
    if op["paged"] == true {
        let (first, size) = if offset_paging { ("offset", "limit") } else { ("page_no", "page_size") };
        let start = if offset_paging { 0 } else { 1 };
        parameters.push(json!({"name": first, "in": "query", "required": false, "schema": {"type": "integer", "minimum": start, "maximum": 100000}}));
        parameters.push(json!({"name": size, "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500}}));
    }
    let mut o = json!({
        "operationId": format!("{}_{}{}", family.replace(['.', '-'], "_"), method.to_ascii_lowercase(), id_slug),
        "tags": [resource],
        "summary": format!("{} {}", method, route),
        "parameters": parameters,
        "responses": responses(op),
    });
    match op["body"]["kind"].as_str() {
        Some("json") => {
            let schema = json!({"$ref": format!("#/components/schemas/{}", op["body"]["type"].as_str().unwrap_or_default())});
            o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema}}});
        }
        Some("raw") if route == "/openapi/apis" => {
            o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}, "minItems": 1}}}});
        }
        Some("raw") => {
            let schema = json!({"type": "string", "description": "A Swagger 2.0 or OpenAPI 3.0 document, JSON or YAML"});
            o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}, "application/yaml": {"schema": schema}}});
        }
        Some("multipart") => {
            o["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file_name"], "properties": {
                "file_name": {"type": "string", "format": "binary"}, "is_create_group": {"type": "string", "enum": ["true", "false"]},
                "group_id": {"type": "string"}, "api_mode": {"type": "string", "enum": ["merge", "override"]},
                "extend_mode": {"type": "string", "enum": ["merge", "override"]}, "simple_mode": {"type": "string", "enum": ["true", "false"]},
                "mock_mode": {"type": "string", "enum": ["true", "false"]}, "publish_env_id": {"type": "string"}}}}}});
        }
        _ => {}
    }
    o
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).map(str::to_string).collect()
}

/// The answers: what the handler answers on success, and every error answer.
fn responses(op: &Value) -> Value {
    let mut r = Map::new();
    for status in op["statuses"].as_array().into_iter().flatten().filter_map(Value::as_u64) {
        let answer = match (status, op.get("list"), op["document"] == true) {
            (204, _, _) => json!({"description": "Done"}),
            (_, _, true) => json!({"description": "The document", "content": {
                "application/json": {"schema": {"type": "object"}}, "application/yaml": {"schema": {"type": "string"}}}}),
            (_, Some(key), _) => {
                let key = key.as_str().unwrap_or("items");
                json!({"description": "A page of the list", "content": {"application/json": {"schema": {"type": "object", "required": ["total", "size"],
                    "properties": {"total": {"type": "integer"}, "size": {"type": "integer"}, key: {"type": "array", "items": {"type": "object"}}}}}}})
            }
            _ => json!({"description": "Done", "content": {"application/json": {"schema": {}}}}),
        };
        r.insert(status.to_string(), answer);
    }
    let error = |what: &str| json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    for (status, what) in [
        ("400", "Invalid input (APIG.2xxx, APIG.3xxx naming the field)"),
        ("401", "Not signed in (APIG.1002 and signature errors)"),
        ("403", "Not allowed for this credential's role (APIG.1005), or refused by a rule (APIG.31xx, APIG.34xx)"),
        ("404", "No such resource, or another instance (APIG.3xxx)"),
        ("409", "Conflicts with a built-in resource (APIG.349x)"),
        ("413", "The body is too large"),
        ("429", "Too many failed sign-ins from this address (APIG.0308)"),
    ] {
        r.insert(status.into(), error(what));
    }
    Value::Object(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `operations.json` is what `generate.py` reads from the routers and handlers now.
    #[test]
    fn the_description_matches_the_routers_and_handlers() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/describe/generate.py");
        let out = std::process::Command::new("python3").arg(script).arg("--check").output().expect("python3 runs generate.py");
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn every_family_has_every_route_with_its_errors() {
        let doc = build(&Instance::default());
        let data: Value = serde_json::from_str(OPERATIONS).unwrap();
        let ops = data["operations"].as_array().unwrap();
        assert!(ops.len() > 130, "{}", ops.len());
        for op in ops {
            let route = op["path"].as_str().unwrap();
            let method = op["method"].as_str().unwrap().to_ascii_lowercase();
            for &(family, prefix, _) in FAMILIES {
                if route == "/instances" || (family == "v1.0" && op["families"] == "instance") {
                    continue;
                }
                let o = &doc["paths"][format!("{prefix}{route}")][&method];
                assert!(o.is_object(), "{family} {method} {route} missing");
                for status in ["400", "401", "403", "404"] {
                    assert_eq!(o["responses"][status]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error");
                }
            }
        }
        // Every schema a body refers to is in the document.
        let text = doc.to_string();
        for r in text.split("#/components/schemas/").skip(1) {
            let name = r.split('"').next().unwrap();
            assert!(doc["components"]["schemas"][name].is_object(), "{name} not described");
        }
        assert!(doc["paths"]["/v2/{project_id}/apigw/instances"]["get"].is_object());
    }
}
