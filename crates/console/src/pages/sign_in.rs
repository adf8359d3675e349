//! Signing in (with the admin token, or an admin access key and its secret)
//! and out. Failed attempts count against the address as the management
//! API's do (10 a minute).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};

use crate::forms::{self, Form};
use crate::{Console, Peer, Signed, session};

const SIGN_IN_STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}\
main{max-width:26rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
label{display:block;margin:.8rem 0 .2rem;font-weight:600}input{width:100%;padding:.5rem;box-sizing:border-box;border:1px solid #9aa5b1;border-radius:4px}\
button{margin-top:1.2rem;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1f5fbf;color:#fff;font-weight:600}\
.error{color:#a4161a;font-weight:600}fieldset{border:0;padding:0;margin:1rem 0 0}legend{font-weight:700}";

fn form_page(error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (super::layout::head("Sign in", Some("/console/sign-in.css"), None))
            body {
                main {
                    h1 { "Causeway" }
                    p { "Sign in with the admin token, or with an admin access key and its secret." }
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    form method="post" action="/console/sign-in" {
                        fieldset {
                            legend { "Token" }
                            label for="token" { "Admin token" }
                            input id="token" name="token" type="password" autocomplete="current-password";
                        }
                        fieldset {
                            legend { "Or access key" }
                            label for="access_key" { "Access key" }
                            input id="access_key" name="access_key" autocomplete="username";
                            label for="secret_key" { "Secret" }
                            input id="secret_key" name="secret_key" type="password";
                        }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

/// `GET /console/sign-in`.
pub async fn form() -> Markup {
    form_page(None)
}

/// `GET /console/sign-in.css`: the sign-in page's own style (served without a session).
pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], SIGN_IN_STYLE).into_response()
}

/// `POST /console/sign-in`: a session for a valid credential.
pub async fn submit(State(console): State<Console>, Peer(ip): Peer, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let found = match (form.text("token"), form.text("access_key"), form.text("secret_key")) {
        (Some(token), _, _) => console.auth.sign_in_token(ip, &token).await,
        (None, Some(access), Some(secret)) => console.auth.sign_in_key(ip, &access, &secret).await,
        _ => return (StatusCode::BAD_REQUEST, form_page(Some("Give a token, or an access key and its secret."))).into_response(),
    };
    let principal = match found {
        Ok(Some(p)) => p,
        Ok(None) => return (StatusCode::UNAUTHORIZED, form_page(Some("These credentials are not valid."))).into_response(),
        Err(e) => return (StatusCode::from_u16(e.status).unwrap_or(StatusCode::TOO_MANY_REQUESTS), form_page(Some(&e.message))).into_response(),
    };
    tracing::info!(credential = %principal.name, "console sign-in");
    let id = console.sessions.open(principal);
    // Behind a TLS-terminating proxy the browser speaks HTTPS: the cookie is then Secure.
    let secure = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut res = Redirect::to("/console/").into_response();
    if let Ok(v) = session::set_cookie(&id, secure).parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /console/sign-out`.
pub async fn sign_out(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = forms::read(&signed, &headers, &body) {
        return refused.into_response();
    }
    console.sessions.close(&signed.id);
    let mut res = Redirect::to("/console/sign-in").into_response();
    if let Ok(v) = session::clear_cookie().parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
