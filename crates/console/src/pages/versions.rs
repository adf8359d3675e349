//! Comparing two published versions of an API: their definitions as the
//! management API shows them, line by line, what the second changed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use causeway_admin::service::VersionDetail;
use maud::html;
use similar::{ChangeTag, TextDiff};

use super::layout::{self, page};
use crate::{Console, QueryMap, Signed};

/// Fields every save changes or the store assigns: not what a user changed.
const BOOKKEEPING: &[&str] = &["id", "register_time", "update_time", "req_param_id"];

fn without_bookkeeping(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for k in BOOKKEEPING {
                m.remove(*k);
            }
            m.values_mut().for_each(without_bookkeeping);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_bookkeeping),
        _ => {}
    }
}

/// The definition a version published, as lines (without ids and save times).
fn definition(v: &VersionDetail) -> String {
    let mut api = serde_json::to_value(&v.api.api).unwrap_or_default();
    without_bookkeeping(&mut api);
    serde_json::to_string_pretty(&api).unwrap_or_default() + "\n"
}

fn label(v: &VersionDetail) -> String {
    // To the second: `2026-12-05 15:43:01`.
    let time = v.publish_time.replace('T', " ");
    format!("{} in {} ({})", v.version_no, v.env_name, time.split('.').next().unwrap_or(&time).trim_end_matches('Z'))
}

/// `GET /console/apis/{id}/diff?from=&to=` (version ids).
pub async fn diff(State(console): State<Console>, signed: Signed, Path(id): Path<String>, QueryMap(q): QueryMap) -> Response {
    let (Some(from), Some(to)) = (q.get("from"), q.get("to")) else {
        return (StatusCode::BAD_REQUEST, layout::bare("Two versions are needed", "Choose the two versions to compare on the API's page.")).into_response();
    };
    let (a, b) = match (console.service.get_version(from).await, console.service.get_version(to).await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return layout::failed(e),
    };
    if a.api.api.id != id || b.api.api.id != id {
        return (StatusCode::NOT_FOUND, layout::bare("Not versions of this API", "Both versions must belong to the API.")).into_response();
    }
    let (old, new) = (definition(&a), definition(&b));
    let diff = TextDiff::from_lines(&old, &new);
    let groups = diff.grouped_ops(3);
    let body = html! {
        p { a href=(format!("/console/apis/{id}")) { "‹ " (a.api.api.name) } }
        h1 { "Compare versions" }
        p.lead { "From " strong { (label(&a)) } " to " strong { (label(&b)) } "." }
        @if groups.is_empty() {
            p.empty { "The two versions publish the same definition." }
        } @else {
            p { (groups.len()) " changed " @if groups.len() == 1 { "place" } @else { "places" } ": lines marked − are only in the first version, + only in the second." }
            @for group in &groups {
                pre.diff {
                    @for op in group {
                        @for change in diff.iter_changes(op) {
                            @match change.tag() {
                                ChangeTag::Delete => del { "− " (change.value()) },
                                ChangeTag::Insert => ins { "+ " (change.value()) },
                                ChangeTag::Equal => span { "  " (change.value()) },
                            }
                        }
                    }
                }
            }
        }
    };
    page(&signed, "Compare versions", "/console/apis", body).into_response()
}
