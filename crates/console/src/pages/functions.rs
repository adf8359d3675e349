//! Functions: the list and a new function; one function's page with its
//! code in an editor (line numbers; a syntax error marked at its line), its
//! settings, versions and aliases, and a test invocation with an event that
//! shows the result and the function's logs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{FunctionFilter, FunctionView, Paging, TestOutcome};
use causeway_model::ApiError;
use causeway_model::function::{AliasInput, FunctionInput};
use maud::{Markup, html};

use super::layout::{self, field_error, form_error, page};
use crate::forms::{self, Form};
use crate::{Console, Signed, forbidden};

const CURRENT: &str = "/console/functions";
const STARTER: &str = "exports.handler = async (event, context) => {\n  return { statusCode: 200, headers: { \"Content-Type\": \"application/json\" }, body: JSON.stringify({ hello: \"world\" }) };\n};\n";

/// `GET /console/functions`.
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    render_list(&console, &signed, None, None).await
}

async fn render_list(console: &Console, signed: &Signed, form: Option<&Form>, error: Option<ApiError>) -> Response {
    let functions = match console.service.list_functions(&FunctionFilter::default(), &Paging::page(1, 500)).await {
        Ok(f) => f,
        Err(e) => return layout::failed(e),
    };
    let value = |name: &str| form.and_then(|f| f.text(name)).unwrap_or_default();
    let can_write = signed.may("POST", "/functions");
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "Functions" }
        p.lead { "JavaScript handlers run by Causeway itself: as FUNCTION backends of APIs and as custom authorizers." }
        @if functions.items.is_empty() {
            p.empty { "No functions yet." @if can_write { " Create one below; its page has the editor and a test run." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Package" } th { "Runtime" } th { "URN" } th { "Updated" } } }
                tbody {
                    @for f in &functions.items {
                        tr {
                            td { a href=(format!("/console/functions/{}", f.function.id)) { (f.function.name) } }
                            td { (f.function.package) }
                            td { (format!("{:?}", f.function.spec.runtime).to_lowercase()) }
                            td { code { (f.urn) } }
                            td { (f.function.update_time.replace('T', " ").trim_end_matches('Z')) }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card aria-labelledby="new-function" {
                h2 id="new-function" { "New function" }
                @if let Some(e) = form_error(error.as_ref(), &["name", "package", "code"]) { p.error role="alert" { (e) } }
                form method="post" action="/console/functions" {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    @for (name, label, help) in [("name", "Name", "Letters, digits, _ and -, starting with a letter."), ("package", "Package", "Optional; default is default.")] {
                        @let error_here = field_error(error.as_ref(), name);
                        label for=(format!("fn-{name}")) { (label) }
                        input id=(format!("fn-{name}")) name=(name) value=(value(name)) aria-invalid=[error_here.map(|_| "true")];
                        small { (help) }
                        @if let Some(e) = error_here { p.error role="alert" { (e) } }
                    }
                    button type="submit" { "Create function" }
                }
            }
        }
    };
    (status, page(signed, "Functions", CURRENT, body)).into_response()
}

/// `POST /console/functions`: a JavaScript function with a starter handler.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/functions") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let input = FunctionInput {
        name: form.text("name"),
        package: form.text("package"),
        runtime: Some("javascript".into()),
        code: Some(STARTER.into()),
        handler: Some("handler".into()),
        ..Default::default()
    };
    let outcome = console.service.create_function(input).await;
    let id = outcome.as_ref().map(|f| f.function.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", CURRENT, "functions", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(f) => Redirect::to(&format!("/console/functions/{}", f.function.id)).into_response(),
        Err(e) => render_list(&console, &signed, Some(&form), Some(e)).await,
    }
}

/// What the function page shows besides the stored function.
#[derive(Default)]
struct Shown<'a> {
    /// The code as sent, when saving it failed.
    draft: Option<&'a Form>,
    error: Option<ApiError>,
    test: Option<(String, String, TestOutcome)>,
    notice: Option<&'a str>,
}

/// The line a syntax error names (`SyntaxError at line N: …`).
fn error_line(e: &ApiError) -> Option<usize> {
    e.message.split("at line ").nth(1)?.split(':').next()?.trim().parse().ok()
}

/// The code editor: a gutter of line numbers beside the text (our script keeps them in step while typing).
fn editor(code: &str, error_at: Option<usize>, read_only: bool) -> Markup {
    let lines = code.lines().count().max(1) + usize::from(code.ends_with('\n'));
    html! {
        div.editor {
            pre.gutter aria-hidden="true" {
                @for n in 1..=lines.max(12) {
                    @if Some(n) == error_at { span.error-line { (n) } "\n" } @else { (n) "\n" }
                }
            }
            textarea id="fn-code" name="code" rows=(lines.clamp(12, 40)) spellcheck="false" autocomplete="off" wrap="off" readonly[read_only]
                aria-describedby=[error_at.map(|_| "fn-code-error")] aria-invalid=[error_at.map(|_| "true")] { (code) }
        }
    }
}

async fn render(console: &Console, signed: &Signed, id: &str, shown: Shown<'_>) -> Response {
    let view: FunctionView = match console.service.get_function(id).await {
        Ok(f) => f,
        Err(e) => return layout::failed(e),
    };
    let versions = console.service.list_function_versions(id, &Paging::page(1, 100)).await.map(|p| p.items).unwrap_or_default();
    let aliases = console.service.list_function_aliases(id).await.unwrap_or_default();
    let f = &view.function;
    let can_write = signed.may("PUT", "/functions");
    let draft = |name: &str| shown.draft.and_then(|d| d.text(name));
    let code = draft("code").unwrap_or_else(|| f.spec.code.clone().unwrap_or_default());
    let error_at = shown.error.as_ref().and_then(error_line);
    let csrf = &signed.session.csrf;
    let status = if shown.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let qualifiers: Vec<String> = std::iter::once("$LATEST".to_string()).chain(versions.iter().map(|v| v.version.version.clone())).chain(aliases.iter().map(|a| a.alias.name.clone())).collect();
    let body = html! {
        p { a href=(CURRENT) { "‹ Functions" } }
        h1 { (f.name) }
        p.lead { code { (view.urn) } }
        @if let Some(n) = shown.notice { p.notice role="status" { (n) } }
        section.card.wide aria-labelledby="code" {
            h2 id="code" { "Code" }
            @if let Some(e) = &shown.error { p.error id="fn-code-error" role="alert" { (e.message) " (" (e.code) ")" } }
            form method="post" action=(format!("/console/functions/{id}/code")) {
                input type="hidden" name="csrf" value=(csrf);
                label for="fn-code" { "Handler source (JavaScript)" }
                (editor(&code, error_at, !can_write))
                div.row {
                    div.field { label for="fn-handler" { "Handler" } input id="fn-handler" name="handler" value=(draft("handler").unwrap_or_else(|| f.spec.handler.clone())); }
                    div.field { label for="fn-timeout" { "Timeout (ms)" } input id="fn-timeout" name="timeout" inputmode="numeric" value=(draft("timeout").unwrap_or_else(|| f.spec.timeout.to_string())); }
                    div.field { label for="fn-memory" { "Memory (MB)" } input id="fn-memory" name="memory_size" inputmode="numeric" value=(draft("memory_size").unwrap_or_else(|| f.spec.memory_size.to_string())); }
                }
                @if can_write { button type="submit" { "Save" } }
            }
        }
        section.card.wide aria-labelledby="test" {
            h2 id="test" { "Test" }
            form method="post" action=(format!("/console/functions/{id}/test")) {
                input type="hidden" name="csrf" value=(csrf);
                div.row {
                    div.field {
                        label for="test-qualifier" { "Run" }
                        select id="test-qualifier" name="qualifier" {
                            @for q in &qualifiers { option selected[shown.test.as_ref().is_some_and(|t| &t.0 == q)] { (q) } }
                        }
                    }
                }
                label for="test-event" { "Event (JSON)" }
                textarea id="test-event" name="event" rows="6" spellcheck="false" {
                    (shown.test.as_ref().map_or(r#"{"httpMethod": "GET", "path": "/", "headers": {}, "queryStringParameters": {}, "body": ""}"#, |t| t.1.as_str()))
                }
                button type="submit" { "Run the test" }
            }
            @if let Some((_, _, outcome)) = &shown.test {
                h3 { "Result: " (outcome.status) " in " (format!("{:.1}", outcome.duration_ms)) " ms" }
                @if let Some(e) = &outcome.error { p.error role="alert" { (e) } }
                @if let Some(r) = &outcome.result { pre #test-result { (serde_json::to_string_pretty(r).unwrap_or_default()) } }
                h3 { "Logs" }
                @if outcome.logs.is_empty() { p.muted { "Nothing logged." } } @else {
                    pre.log #test-logs { @for l in &outcome.logs { (l.level) " " (l.message) "\n" } }
                }
            }
        }
        section.card.wide aria-labelledby="versions" {
            h2 id="versions" { "Versions" }
            p.lead { "A version freezes the code as it is now; APIs and aliases can call it by number." }
            @if versions.is_empty() { p.muted { "No versions yet: callers use $LATEST." } } @else {
                table {
                    thead { tr { th { "Version" } th { "Description" } th { "Published" } } }
                    tbody { @for v in &versions { tr { td { (v.version.version) } td { (v.version.description) } td { (v.version.create_time.replace('T', " ").trim_end_matches('Z')) } } } }
                }
            }
            @if can_write {
                form.inline method="post" action=(format!("/console/functions/{id}/versions")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field { label for="version-description" { "Description" } input id="version-description" name="description" maxlength="255"; }
                    button type="submit" { "Publish a version" }
                }
            }
            h3 { "Aliases" }
            @if aliases.is_empty() { p.muted { "No aliases." } } @else {
                table {
                    thead { tr { th { "Alias" } th { "Version" } th { "URN" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for a in &aliases {
                            tr {
                                td { (a.alias.name) } td { (a.alias.version) } td { code { (a.alias_urn) } }
                                @if can_write { td { a.danger href=(format!("/console/functions/{id}/aliases/{}/delete", a.alias.name)) { "Delete" } } }
                            }
                        }
                    }
                }
            }
            @if can_write && !versions.is_empty() {
                form.inline method="post" action=(format!("/console/functions/{id}/aliases")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field { label for="alias-name" { "Alias" } input id="alias-name" name="name" placeholder="prod"; }
                    div.field {
                        label for="alias-version" { "Points to version" }
                        select id="alias-version" name="version" { @for v in versions.iter().rev() { option { (v.version.version) } } }
                    }
                    button type="submit" { "Add the alias" }
                }
            }
        }
        @if signed.may("DELETE", "/functions") {
            p { a.danger href=(format!("/console/functions/{id}/delete")) { "Delete the function" } }
        }
    };
    (status, page(signed, &f.name, CURRENT, body)).into_response()
}

/// `GET /console/functions/{id}`.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    render(&console, &signed, &id, Shown::default()).await
}

/// `POST /console/functions/{id}/code`: saves the code and settings (a syntax error is shown at its line).
pub async fn save(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "PUT", "/functions") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    // A number that does not parse is sent as -1, so the service names its field.
    let number = |name: &str| form.text(name).map(|v| v.parse::<i64>().unwrap_or(-1));
    let input = FunctionInput {
        code: Some(form.text("code").unwrap_or_default()),
        handler: form.text("handler"),
        timeout: number("timeout"),
        memory_size: number("memory_size"),
        ..Default::default()
    };
    let outcome = console.service.update_function(&id, input).await;
    console.audit(&signed, "PUT", &format!("/console/functions/{id}/code"), "functions", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(_) => render(&console, &signed, &id, Shown { notice: Some("Saved. $LATEST runs this code now."), ..Default::default() }).await,
        Err(e) => render(&console, &signed, &id, Shown { draft: Some(&form), error: Some(e), ..Default::default() }).await,
    }
}

/// `POST /console/functions/{id}/test`: runs the function once with the event.
pub async fn test(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/functions") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let text = form.text("event").unwrap_or_default();
    let qualifier = form.text("qualifier").unwrap_or_else(|| "$LATEST".into());
    let event = match serde_json::from_str::<serde_json::Value>(if text.trim().is_empty() { "{}" } else { &text }) {
        Ok(v) => v,
        Err(e) => {
            let error = ApiError::field_because(causeway_model::error::codes::MALFORMED, "event", &format!("The event is not JSON: {e}"));
            return render(&console, &signed, &id, Shown { error: Some(error), ..Default::default() }).await;
        }
    };
    let q = (qualifier != "$LATEST").then_some(qualifier.as_str());
    let outcome = console.service.test_invoke_function(&id, q, event).await;
    console.audit(&signed, "POST", &format!("/console/functions/{id}/test"), "functions", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(o) => render(&console, &signed, &id, Shown { test: Some((qualifier, text, o)), ..Default::default() }).await,
        Err(e) => render(&console, &signed, &id, Shown { error: Some(e), ..Default::default() }).await,
    }
}

/// `POST /console/functions/{id}/versions` (`description`).
pub async fn publish_version(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/functions") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.publish_function_version(&id, form.text("description")).await;
    console.audit(&signed, "POST", &format!("/console/functions/{id}/versions"), "functions", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(v) => render(&console, &signed, &id, Shown { notice: Some(&format!("Version {} published.", v.version.version)), ..Default::default() }).await,
        Err(e) => render(&console, &signed, &id, Shown { error: Some(e), ..Default::default() }).await,
    }
}

/// `POST /console/functions/{id}/aliases` (`name`, `version`).
pub async fn add_alias(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/functions") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.create_function_alias(&id, AliasInput { name: form.text("name"), version: form.text("version"), description: None }).await;
    console.audit(&signed, "POST", &format!("/console/functions/{id}/aliases"), "functions", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(_) => Redirect::to(&format!("/console/functions/{id}#versions")).into_response(),
        Err(e) => render(&console, &signed, &id, Shown { error: Some(e), ..Default::default() }).await,
    }
}

/// `GET /console/functions/{id}/aliases/{name}/delete`: asks first.
pub async fn confirm_delete_alias(State(console): State<Console>, signed: Signed, Path((id, name)): Path<(String, String)>) -> Response {
    if !signed.may("DELETE", "/functions") {
        return forbidden();
    }
    let alias = match console.service.get_function_alias(&id, &name).await {
        Ok(a) => a,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete the alias",
            question: &format!("Delete the alias {} (version {})?", alias.alias.name, alias.alias.version),
            warning: "APIs and authorizers calling the function through this alias fail from then on; an alias they use cannot be deleted.",
            action: &format!("/console/functions/{id}/aliases/{name}/delete"),
            fields: &[],
            button: "Delete the alias",
            cancel: &format!("/console/functions/{id}#versions"),
        },
        CURRENT,
    )
}

/// `POST /console/functions/{id}/aliases/{name}/delete`.
pub async fn delete_alias(State(console): State<Console>, signed: Signed, Path((id, name)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/functions") {
        return denied.into_response();
    }
    let outcome = console.service.delete_function_alias(&id, &name).await;
    console.audit(&signed, "DELETE", &format!("/console/functions/{id}/aliases/{name}"), "functions", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/functions/{id}#versions")).into_response(),
        Err(e) => render(&console, &signed, &id, Shown { error: Some(e), ..Default::default() }).await,
    }
}

/// `GET /console/functions/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/functions") {
        return forbidden();
    }
    let f = match console.service.get_function(&id).await {
        Ok(f) => f,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete the function",
            question: &format!("Delete the function {}?", f.function.name),
            warning: "Its code, versions and aliases are deleted. A function that published APIs call cannot be deleted.",
            action: &format!("/console/functions/{id}/delete"),
            fields: &[],
            button: "Delete the function",
            cancel: &format!("/console/functions/{id}"),
        },
        CURRENT,
    )
}

/// `POST /console/functions/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/functions") {
        return denied.into_response();
    }
    let outcome = console.service.delete_function(&id).await;
    console.audit(&signed, "DELETE", &format!("/console/functions/{id}"), "functions", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(CURRENT).into_response(),
        Err(e) => layout::not_done(&signed, "The function was not deleted", &e, &format!("/console/functions/{id}"), "Back to the function", CURRENT),
    }
}
