//! AppCodes on an app's page: simple authentication for callers that
//! cannot sign (`X-Apig-AppCode`). Listed masked (shown on request, like the
//! secret), generated or given, deleted after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use causeway_model::app::{AppCode, AppCodeInput};
use maud::{Markup, html};

use super::layout;
use crate::{Console, Signed, forbidden, forms};

/// The first and last characters of a code, the rest hidden.
fn masked(code: &str) -> String {
    let head: String = code.chars().take(4).collect();
    let tail: String = code.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head}…{tail}")
}

/// The section of the app's page.
pub fn section(signed: &Signed, app_id: &str, codes: &[AppCode], show: bool) -> Markup {
    let can_write = signed.may("POST", "/apps");
    let show = show && signed.may("GET", "/apps");
    let csrf = &signed.session.csrf;
    html! {
        section.card.wide aria-labelledby="app-codes" {
            h2 id="app-codes" { "AppCodes" }
            p.lead { "A caller that cannot sign may send an AppCode in the " code { "X-Apig-AppCode" } " header instead, to APIs that accept it." }
            @if codes.is_empty() { p.muted { "No AppCodes." } } @else {
                table {
                    thead { tr { th { "AppCode" } th { "Created" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for c in codes {
                            tr {
                                td { code { @if show { (c.app_code) } @else { (masked(&c.app_code)) } } }
                                td { (c.create_time.replace('T', " ").trim_end_matches('Z')) }
                                @if can_write { td { a.danger href=(format!("/console/apps/{app_id}/app-codes/{}/delete", c.id)) { "Delete" } } }
                            }
                        }
                    }
                }
                @if !show { p { a href=(format!("/console/apps/{app_id}?show_codes=1#app-codes")) { "Show the AppCodes" } } }
            }
            @if can_write {
                form.inline method="post" action=(format!("/console/apps/{app_id}/app-codes")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field {
                        label for="app-code" { "Your own AppCode" }
                        input id="app-code" name="app_code" autocomplete="off" placeholder="empty: one is generated";
                        small { "64–180 letters, digits and + _ ! @ # $ % / = -" }
                    }
                    button type="submit" { "Add an AppCode" }
                }
            }
        }
    }
}

/// `POST /console/apps/{id}/app-codes` (`app_code`, or none to generate one).
pub async fn create(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/apps") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let input = form.text("app_code").map(|c| AppCodeInput { app_code: Some(c) });
    let outcome = console.service.create_app_code(&id, input).await.map(|_| ());
    console.audit(&signed, "POST", &format!("/console/apps/{id}/app-codes"), "app-codes", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/apps/{id}?show_codes=1#app-codes")).into_response(),
        Err(e) => layout::not_done(&signed, "No AppCode was added", &e, &format!("/console/apps/{id}#app-codes"), "Back to the app", "/console/apps"),
    }
}

/// `GET /console/apps/{id}/app-codes/{code}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path((id, code)): Path<(String, String)>) -> Response {
    if !signed.may("DELETE", "/apps") {
        return forbidden();
    }
    let found = match console.service.get_app_code(&id, &code).await {
        Ok(c) => c,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete the AppCode",
            question: &format!("Delete the AppCode {}?", masked(&found.app_code)),
            warning: "Callers sending it are refused from then on.",
            action: &format!("/console/apps/{id}/app-codes/{code}/delete"),
            fields: &[],
            button: "Delete the AppCode",
            cancel: &format!("/console/apps/{id}#app-codes"),
        },
        "/console/apps",
    )
}

/// `POST /console/apps/{id}/app-codes/{code}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path((id, code)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/apps") {
        return denied.into_response();
    }
    let outcome = console.service.delete_app_code(&id, &code).await;
    console.audit(&signed, "DELETE", &format!("/console/apps/{id}/app-codes/{code}"), "app-codes", &code, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/apps/{id}#app-codes")).into_response(),
        Err(e) => layout::not_done(&signed, "The AppCode was not deleted", &e, &format!("/console/apps/{id}"), "Back to the app", "/console/apps"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_masked_but_for_their_ends() {
        assert_eq!(super::masked("abcdefghijklmnop"), "abcd…mnop");
    }
}
