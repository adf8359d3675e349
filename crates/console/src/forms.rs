//! Form posts: `application/x-www-form-urlencoded` bodies, each carrying the
//! session's CSRF token (a post without it, or from another origin, is
//! refused before anything is done).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Signed;
use crate::pages::layout;

pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// Every non-empty value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_string()).collect()
    }

    /// A non-empty field, trimmed.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
    }
}

/// A form post refused: `403` with a page saying why.
pub struct Refused;

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, layout::bare("Refused", "This form is out of date or was not sent by the console. Reload the page and try again.")).into_response()
    }
}

/// The form a signed-in session posted, if it carries the session's token
/// and comes from this origin; else [`Refused`].
pub fn read(signed: &Signed, headers: &HeaderMap, body: &Bytes) -> Result<Form, Refused> {
    let refused = || Refused;
    if let (Some(origin), Some(host)) = (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST).and_then(|v| v.to_str().ok())) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin_host != host {
            return Err(refused());
        }
    }
    let form = Form::parse(body);
    match form.text("csrf") {
        Some(token) if signed.session.csrf_ok(&token) => Ok(form),
        _ => Err(refused()),
    }
}

/// Why a post was not taken: no valid token, or not allowed to the role.
pub enum Denied {
    Refused,
    Forbidden,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Refused => Refused.into_response(),
            Denied::Forbidden => crate::forbidden(),
        }
    }
}

/// A form post allowed to the session's role as the management call
/// `method path` would be.
pub fn posted(signed: &Signed, headers: &HeaderMap, body: &Bytes, method: &str, path: &str) -> Result<Form, Denied> {
    let form = read(signed, headers, body).map_err(|_| Denied::Refused)?;
    if !signed.may(method, path) {
        return Err(Denied::Forbidden);
    }
    Ok(form)
}
