//! Gateway responses on a group's page: a new set, one error type
//! customised (status and body) or reset, a set deleted after a
//! confirmation. A type's change keeps the set's other types as they are.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use causeway_model::response::{GatewayResponse, GatewayResponseInput, HeaderInput, ResponseSpecInput};

use super::{group, layout};
use crate::{Console, Signed, forbidden, forms};

/// The set's customised types as input, to change one and send them all back.
fn inputs_of(r: &GatewayResponse) -> BTreeMap<String, ResponseSpecInput> {
    r.responses
        .iter()
        .map(|(k, v)| {
            let headers = v.headers.iter().map(|h| HeaderInput { key: Some(h.key.clone()), value: Some(h.value.clone()) }).collect();
            (k.clone(), ResponseSpecInput { status: v.status.map(i64::from), body: Some(v.body.clone()), headers: Some(headers) })
        })
        .collect()
}

/// `POST /console/groups/{id}/responses` (`name`): a new set.
pub async fn create(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.create_response(&id, GatewayResponseInput { name: form.text("name"), responses: None }).await.map(|_| ());
    console.audit(&signed, "POST", &format!("/console/groups/{id}/responses"), "gateway-responses", &id, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "responses", &form, outcome).await
}

/// `POST /console/groups/{id}/responses/type` (`response_id`, `type`, `status`, `body`): one type customised.
pub async fn set_type(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "PUT", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let response_id = form.text("response_id").unwrap_or_default();
    let outcome = match console.service.get_response(&id, &response_id).await {
        Ok(r) => {
            let mut types = inputs_of(&r);
            let spec = ResponseSpecInput {
                // A status that is not a number is sent as -1, so the service names its field.
                status: form.text("status").map(|s| s.parse().unwrap_or(-1)),
                body: Some(form.text("body").unwrap_or_else(|| causeway_model::response::DEFAULT_BODY.to_string())),
                headers: None,
            };
            types.insert(form.text("type").unwrap_or_default(), spec);
            console.service.update_response(&id, &response_id, GatewayResponseInput { name: Some(r.name.clone()), responses: Some(types) }).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    console.audit(&signed, "PUT", &format!("/console/groups/{id}/responses/{response_id}"), "gateway-responses", &response_id, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "responses", &form, outcome).await
}

/// `POST /console/groups/{id}/responses/{response_id}/types/{type}/delete`: back to the default answer.
pub async fn reset_type(
    State(console): State<Console>,
    signed: Signed,
    Path((id, response_id, kind)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "PUT", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = match console.service.get_response(&id, &response_id).await {
        Ok(r) => {
            let mut types = inputs_of(&r);
            types.remove(&kind);
            console.service.update_response(&id, &response_id, GatewayResponseInput { name: Some(r.name.clone()), responses: Some(types) }).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    console.audit(&signed, "PUT", &format!("/console/groups/{id}/responses/{response_id}"), "gateway-responses", &response_id, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "responses", &form, outcome).await
}

/// `GET /console/groups/{id}/responses/{response_id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path((id, response_id)): Path<(String, String)>) -> Response {
    if !signed.may("DELETE", "/api-groups") {
        return forbidden();
    }
    let r = match console.service.get_response(&id, &response_id).await {
        Ok(r) => r,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete the set",
            question: &format!("Delete the gateway responses {}?", r.name),
            warning: "APIs that name this set answer with the group's default set instead.",
            action: &format!("/console/groups/{id}/responses/{response_id}/delete"),
            fields: &[],
            button: "Delete the set",
            cancel: &format!("/console/groups/{id}#responses"),
        },
        "/console/groups",
    )
}

/// `POST /console/groups/{id}/responses/{response_id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path((id, response_id)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.delete_response(&id, &response_id).await;
    console.audit(&signed, "DELETE", &format!("/console/groups/{id}/responses/{response_id}"), "gateway-responses", &response_id, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "responses", &form, outcome).await
}
