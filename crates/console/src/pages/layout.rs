//! The page shell (header, navigation, the signed-in credential and its
//! role, sign-out), shared pieces (field errors, pagination), and the
//! stylesheet, compiled into the binary.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use causeway_model::ApiError;
use maud::{DOCTYPE, Markup, html};

use crate::Signed;

const STYLESHEET: &str = include_str!("../../assets/console.css");
const FAVICON: &str = include_str!("../../assets/favicon.svg");
const SCRIPT: &str = include_str!("../../assets/console.js");

/// `GET /console/assets/console.js`.
pub async fn script(_signed: Signed) -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=3600")], SCRIPT).into_response()
}

/// `GET /console/assets/console.css`.
pub async fn stylesheet(_signed: Signed) -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=3600")], STYLESHEET).into_response()
}

/// `GET /console/favicon.svg` (without a session: the sign-in page shows it too).
pub async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], FAVICON).into_response()
}

/// The navigation: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/console/overview", "Overview"),
    ("/console/groups", "Groups"),
    ("/console/apis", "APIs"),
    ("/console/envs", "Environments"),
    ("/console/apps", "Apps"),
    ("/console/throttles", "Policies"),
    ("/console/channels", "Channels"),
    ("/console/authorizers", "Authorizers"),
    ("/console/functions", "Functions"),
    ("/console/openapi", "Import / export"),
];

/// The tabs over the policy pages: throttling, access control, signature keys.
pub fn policy_tabs(active: &str) -> Markup {
    html! {
        nav.tabs aria-label="Policies" {
            @for (href, label) in [("/console/throttles", "Throttling"), ("/console/acls", "Access control"), ("/console/signs", "Signature keys")] {
                a href=(href) aria-current=[(href == active).then_some("page")] { (label) }
            }
        }
    }
}

/// What some pages add to the shell.
#[derive(Default)]
pub struct PageOptions {
    /// Reload the page every this many seconds (a `<meta>` refresh: no script needed).
    pub refresh: Option<u32>,
}

/// A page of a signed-in session.
pub fn page(signed: &Signed, title: &str, current: &str, body: Markup) -> Markup {
    page_with(signed, title, current, body, PageOptions::default())
}

/// A page of a signed-in session, with options.
pub fn page_with(signed: &Signed, title: &str, current: &str, body: Markup, options: PageOptions) -> Markup {
    let p = signed.principal();
    // The three kinds of policy share one entry.
    let current = match current {
        "/console/acls" | "/console/signs" => "/console/throttles",
        c => c,
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some("/console/assets/console.css"), options.refresh))
            body {
                header.top {
                    a.brand href="/console/" { "Causeway" }
                    nav aria-label="Sections" {
                        @for (href, label) in NAV {
                            a href=(href) aria-current=[(*href == current).then_some("page")] { (label) }
                        }
                    }
                    form.who method="post" action="/console/sign-out" {
                        span { (p.name) " · " (p.role.as_str()) }
                        input type="hidden" name="csrf" value=(signed.session.csrf);
                        button.link type="submit" { "Sign out" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page's `<head>`: its title and stylesheet.
pub fn head(title: &str, stylesheet: Option<&str>, refresh: Option<u32>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Causeway" }
            link rel="icon" href="/console/favicon.svg" type="image/svg+xml";
            @if let Some(href) = stylesheet { link rel="stylesheet" href=(href); }
            @if stylesheet == Some("/console/assets/console.css") { script src="/console/assets/console.js" defer {} }
            @if let Some(seconds) = refresh { meta http-equiv="refresh" content=(seconds); }
        }
    }
}

/// What a destructive action asks before it is done.
pub struct Confirm<'a> {
    pub title: &'a str,
    pub question: &'a str,
    /// What follows from it.
    pub warning: &'a str,
    /// Where the button posts, with these hidden fields (and the session's token).
    pub action: &'a str,
    pub fields: &'a [(&'a str, &'a str)],
    pub button: &'a str,
    /// Where Cancel goes.
    pub cancel: &'a str,
}

/// A destructive action asks first: the question, what follows, and a
/// button that does it, or Cancel.
pub fn confirm(signed: &Signed, c: Confirm<'_>, current: &str) -> Response {
    let Confirm { title, question, warning, action, fields, button, cancel } = c;
    let body = html! {
        h1 { (question) }
        p { (warning) }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(signed.session.csrf);
            @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
            button.danger type="submit" { (button) }
            " "
            a href=(cancel) { "Cancel" }
        }
    };
    page(signed, title, current, body).into_response()
}

/// A change the service refused: its message and code, and the way back.
pub fn not_done(signed: &Signed, heading: &str, e: &ApiError, back: &str, back_label: &str, current: &str) -> Response {
    let body = html! {
        h1 { (heading) }
        p.error role="alert" { (e.message) " (" (e.code) ")" }
        p { a href=(back) { (back_label) } }
    };
    (StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), page(signed, heading, current, body)).into_response()
}

/// A page that could not be read (not found, or a store failure).
pub fn failed(e: ApiError) -> Response {
    (StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), bare("Not available", &e.message)).into_response()
}

/// A page without a session (sign-in, refusals): no navigation, its own small style.
pub fn bare(title: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None, None))
            body { main { h1 { (title) } p { (message) } p { a href="/console/" { "Back to the console" } } } }
        }
    }
}

/// Unknown console paths.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, bare("Not found", "There is no such page in the console.")).into_response()
}

/// The message of an error the service answered, for the field it names (if it is `field`).
pub fn field_error<'a>(error: Option<&'a ApiError>, field: &str) -> Option<&'a str> {
    let e = error?;
    let named = e.message.split("parameterName:").nth(1).map(|rest| rest.split(['.', ' ']).next().unwrap_or_default());
    (named == Some(field)).then_some(e.message.as_str())
}

/// An error not shown on a field.
pub fn form_error(error: Option<&ApiError>, fields: &[&str]) -> Option<String> {
    let e = error?;
    let on_field = fields.iter().any(|f| field_error(Some(e), f).is_some());
    (!on_field).then(|| format!("{} ({})", e.message, e.code))
}

/// "Previous / next" links of a list page.
pub fn pager(base: &str, page: usize, size: usize, total: usize) -> Markup {
    let pages = total.div_ceil(size).max(1);
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 { a href=(format!("{base}{sep}page={}", page - 1)) { "‹ Previous" } }
            span { "Page " (page) " of " (pages) " · " (total) " in all" }
            @if page < pages { a href=(format!("{base}{sep}page={}", page + 1)) { "Next ›" } }
        }
    }
}
