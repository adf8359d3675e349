//! The public API descriptions in `tests/fixtures/openapi/` read into valid
//! API definitions, every operation of them.

use causeway_model::Limits;
use causeway_model::openapi::{self, import};
use causeway_model::rules::Dialect;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/openapi").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_all(name: &str, dialect: Dialect) -> import::Imported {
    let doc = openapi::parse(&fixture(name)).unwrap();
    let opts = import::Options { mock_mode: false, max_apis: 1000, dialect };
    import::read(&doc, &opts).unwrap()
}

fn assert_all_valid(name: &str, operations: usize) {
    for dialect in [Dialect::Apig, Dialect::Wide] {
        let imported = read_all(name, dialect);
        assert_eq!(imported.apis.len(), operations, "{name}");
        for a in imported.apis {
            let mut draft = a.draft.unwrap_or_else(|e| panic!("{name} {} {}: {e}", a.method, a.path));
            draft.input.group_id = Some("0".repeat(32));
            let api = draft.input.validate(&Limits::default()).unwrap_or_else(|e| panic!("{name} {} {}: {e}", a.method, a.path));
            assert_eq!(api.req_uri, a.path);
            assert_eq!(api.backend_type.as_str(), "MOCK");
        }
    }
}

#[test]
fn swagger_petstore_2_reads_into_valid_mock_apis() {
    assert_all_valid("petstore-swagger2.json", 20);
    let imported = read_all("petstore-swagger2.json", Dialect::Apig);
    assert_eq!(imported.title.as_deref(), Some("Swagger Petstore"));
    let get_pet = imported.apis.iter().find(|a| a.method == "GET" && a.path == "/v2/pet/{petId}").unwrap();
    let input = &get_pet.draft.as_ref().unwrap().input;
    assert_eq!(input.name.as_deref(), Some("getPetById"));
    let mock = input.mock_info.as_ref().unwrap();
    assert_eq!(mock.status_code, Some(200));
    let body: serde_json::Value = serde_json::from_str(mock.result_content.as_deref().unwrap()).unwrap();
    assert_eq!(body["name"], "doggie");
}

#[test]
fn swagger_petstore_3_reads_into_valid_mock_apis() {
    assert_all_valid("petstore-openapi3.yaml", 19);
    let imported = read_all("petstore-openapi3.yaml", Dialect::Apig);
    assert!(imported.apis.iter().any(|a| a.path == "/api/v3/pet/findByStatus"));
}

#[test]
fn slack_web_api_reads_into_valid_mock_apis() {
    assert_all_valid("slack-web-api-swagger2.json", 174);
}
