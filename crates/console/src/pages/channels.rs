//! Load-balance channels: the list and a new channel (members one per line,
//! a health check); a channel's page with its members and their health as
//! this node's checks see it (the page reloads itself every 5 s), adding,
//! taking out of service and removing members; delete after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{ChannelFilter, ChannelView, Paging};
use causeway_model::ApiError;
use causeway_model::channel::{ChannelInput, HealthInput, MemberInput, Strategy};
use maud::html;

use super::layout::{self, PageOptions, field_error, form_error, page};
use crate::forms::{self, Form};
use crate::{Console, Signed, forbidden};

const CURRENT: &str = "/console/channels";
const STRATEGIES: [(i32, &str); 4] = [(1, "weighted round-robin"), (2, "weighted least connections"), (3, "source-address hash"), (4, "URI hash")];

fn strategy_name(s: Strategy) -> &'static str {
    let n = i32::from(s);
    STRATEGIES.iter().find(|(v, _)| *v == n).map_or("", |(_, name)| name)
}

/// `host[:port] [weight]` per line.
fn members_of(text: &str) -> Vec<MemberInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let address = words.next().unwrap_or_default();
            let weight = words.next().map(|w| w.parse().unwrap_or(-1));
            // `[v6]:port`, `host:port`, or a bare host (a bare IPv6 address has several colons).
            let (host, port) = match address.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') || h.ends_with(']') => (h.trim_start_matches('[').trim_end_matches(']').to_string(), Some(p.parse().unwrap_or(-1))),
                _ => (address.to_string(), None),
            };
            MemberInput { host: Some(host), port, weight: weight.or(Some(1)), ..Default::default() }
        })
        .collect()
}

async fn render(console: &Console, signed: &Signed, form: Option<&Form>, error: Option<ApiError>) -> Response {
    let list = match console.service.list_channels(&ChannelFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(l) => l,
        Err(e) => return layout::failed(e),
    };
    let can_write = signed.may("POST", "/vpc-channels");
    let value = |name: &str| form.and_then(|f| f.text(name)).unwrap_or_default();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let on = |name: &str| field_error(error.as_ref(), name);
    let body = html! {
        h1 { "Load-balance channels" }
        p.lead { "A channel spreads an API's backend requests over several servers, checks their health and leaves the unhealthy ones out. Choose it as the backend in an API's second step." }
        @if list.items.is_empty() {
            p.empty { "No channels yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Balancing" } th { "Port" } th { "Members" } th { "Health check" } } }
                tbody {
                    @for c in &list.items {
                        tr {
                            td { a href=(format!("{CURRENT}/{}", c.id)) { (c.name) } }
                            td { (strategy_name(c.balance_strategy)) }
                            td { (c.port) }
                            td { (c.member_count) }
                            td { @match &c.vpc_health_config { Some(h) => { (h.protocol.as_str()) " " (h.path.as_deref().unwrap_or("")) }, None => span.muted { "none" } } }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card aria-labelledby="new-channel" {
                h2 id="new-channel" { "New channel" }
                @if let Some(e) = form_error(error.as_ref(), &["name", "port", "balance_strategy", "members", "vpc_instances"]) { p.error role="alert" { (e) } }
                form method="post" action=(CURRENT) {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    label for="ch-name" { "Name" }
                    input id="ch-name" name="name" value=(value("name")) aria-invalid=[on("name").map(|_| "true")];
                    @if let Some(e) = on("name") { p.error role="alert" { (e) } }
                    div.row {
                        div.field {
                            label for="ch-port" { "Port" }
                            input id="ch-port" name="port" inputmode="numeric" value=(form.map_or("80".into(), |_| value("port"))) aria-invalid=[on("port").map(|_| "true")];
                            @if let Some(e) = on("port") { p.error role="alert" { (e) } }
                        }
                        div.field {
                            label for="ch-strategy" { "Balancing" }
                            select id="ch-strategy" name="balance_strategy" { @for (v, name) in STRATEGIES { option value=(v) selected[value("balance_strategy") == v.to_string()] { (name) } } }
                        }
                    }
                    label for="ch-members" { "Members" }
                    textarea id="ch-members" name="members" rows="4" placeholder="10.0.0.11:8080 2\n10.0.0.12" { (value("members")) }
                    small { "One per line: host or host:port, then a weight (1–100, default 1)." }
                    label for="ch-health" { "Health check path" }
                    input id="ch-health" name="health_path" value=(value("health_path")) placeholder="/healthz";
                    small { "Checked over HTTP every 10 s; left empty: members are checked by connecting (TCP)." }
                    button type="submit" { "Create channel" }
                }
            }
        }
    };
    (status, page(signed, "Load-balance channels", CURRENT, body)).into_response()
}

/// `GET /console/channels`.
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    render(&console, &signed, None, None).await
}

/// `POST /console/channels`.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/vpc-channels") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let health = match form.text("health_path") {
        Some(path) => HealthInput { protocol: Some("HTTP".into()), path: Some(path), method: Some("GET".into()), ..Default::default() },
        None => HealthInput { protocol: Some("TCP".into()), ..Default::default() },
    };
    let input = ChannelInput {
        name: form.text("name"),
        kind: Some(2),
        member_type: Some("ip".into()),
        port: form.text("port").map(|p| p.parse().unwrap_or(-1)),
        balance_strategy: form.text("balance_strategy").and_then(|s| s.parse().ok()),
        vpc_health_config: Some(HealthInput { threshold_normal: Some(2), threshold_abnormal: Some(3), time_out: Some(5), time_interval: Some(10), ..health }),
        members: Some(members_of(&form.text("members").unwrap_or_default())),
        ..Default::default()
    };
    let outcome = console.service.create_channel(input).await;
    let id = outcome.as_ref().map(|c| c.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", CURRENT, "vpc-channels", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(c) => Redirect::to(&format!("{CURRENT}/{}", c.id)).into_response(),
        Err(e) => render(&console, &signed, Some(&form), Some(e)).await,
    }
}

/// `GET /console/channels/{id}`.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    show(&console, &signed, &id, None).await
}

async fn show(console: &Console, signed: &Signed, id: &str, error: Option<ApiError>) -> Response {
    let c: ChannelView = match console.service.get_channel(id).await {
        Ok(c) => c,
        Err(e) => return layout::failed(e),
    };
    let members = c.members.clone().unwrap_or_default();
    let healthy = members.iter().filter(|m| m.health_status == "healthy").count();
    let can_write = signed.may("PUT", "/vpc-channels");
    let csrf = &signed.session.csrf;
    let base = format!("{CURRENT}/{id}");
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        p { a href=(CURRENT) { "‹ Channels" } }
        h1 { (c.name) }
        dl {
            dt { "Balancing" } dd { (strategy_name(c.balance_strategy)) }
            dt { "Port" } dd { (c.port) }
            dt { "Health check" }
            dd {
                @match &c.vpc_health_config {
                    Some(h) => { (h.protocol.as_str()) " " (h.path.as_deref().unwrap_or("")) " every " (h.time_interval) " s; healthy after " (h.threshold_normal) " passes, unhealthy after " (h.threshold_abnormal) " failures" },
                    None => span.muted { "none" },
                }
            }
        }
        section.card.wide aria-labelledby="members" {
            h2 id="members" { "Members" }
            p { (healthy) " of " (members.len()) " healthy, as this node's checks see them (the page refreshes every 5 s)." }
            @if let Some(e) = &error { p.error role="alert" { (e.message) " (" (e.code) ")" } }
            @if members.is_empty() { p.empty { "No members: requests through this channel fail until one is added." } } @else {
                table {
                    thead { tr { th { "Address" } th { "Weight" } th { "Backup" } th { "Health" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for m in &members {
                            tr {
                                td { code { (m.member.host) ":" (m.port) } }
                                td { (m.member.weight) }
                                td { @if m.member.is_backup { "yes" } @else { "no" } }
                                td { span class=(format!("health {}", m.health_status)) { (m.health_status) } }
                                @if can_write {
                                    td {
                                        form.inline method="post" action=(format!("{base}/members/{}/{}", m.member.id, if m.member.status == 2 { "enable" } else { "disable" })) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            button.small.secondary type="submit" { @if m.member.status == 2 { "Put in service" } @else { "Take out of service" } }
                                        }
                                        " "
                                        a.danger href=(format!("{base}/members/{}/delete", m.member.id)) aria-label=(format!("Remove {}", m.member.host)) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_write {
                form method="post" action=(format!("{base}/members")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="add-members" { "Add members" }
                    textarea id="add-members" name="members" rows="2" placeholder="10.0.0.13:8080 1" {}
                    button type="submit" { "Add" }
                }
            }
        }
        @if signed.may("DELETE", "/vpc-channels") { p { a.danger href=(format!("{base}/delete")) { "Delete the channel" } } }
    };
    (status, layout::page_with(signed, &c.name, CURRENT, body, PageOptions { refresh: Some(5) })).into_response()
}

/// `POST /console/channels/{id}/members` (`members`, one per line).
pub async fn add_members(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/vpc-channels") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.add_members(&id, members_of(&form.text("members").unwrap_or_default()), "members").await.map(|_| ());
    changed(&console, &signed, &id, "members", outcome).await
}

/// `GET /console/channels/{id}/members/{member}/delete`: asks before removing a member.
pub async fn confirm_member(State(console): State<Console>, signed: Signed, Path((id, member, action)): Path<(String, String, String)>) -> Response {
    if action != "delete" {
        return layout::not_found().await;
    }
    if !signed.may("DELETE", "/vpc-channels") {
        return forbidden();
    }
    let c = match console.service.get_channel(&id).await {
        Ok(c) => c,
        Err(e) => return layout::failed(e),
    };
    let Some(m) = c.members.unwrap_or_default().into_iter().find(|m| m.member.id == member) else { return layout::not_found().await };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Remove the member",
            question: &format!("Remove {}:{} from {}?", m.member.host, m.port, c.name),
            warning: "Requests through the channel stop going to it at once. Taking it out of service instead keeps it listed.",
            action: &format!("{CURRENT}/{id}/members/{member}/delete"),
            fields: &[],
            button: "Remove the member",
            cancel: &format!("{CURRENT}/{id}"),
        },
        CURRENT,
    )
}

/// `POST /console/channels/{id}/members/{member}/{action}`: `enable`, `disable` or `delete`.
pub async fn member(
    State(console): State<Console>,
    signed: Signed,
    Path((id, member, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = if action == "delete" { "DELETE" } else { "PUT" };
    if let Err(denied) = forms::posted(&signed, &headers, &body, method, "/vpc-channels") {
        return denied.into_response();
    }
    let outcome = match action.as_str() {
        "enable" => console.service.set_members_status(&id, vec![member], 1).await,
        "disable" => console.service.set_members_status(&id, vec![member], 2).await,
        "delete" => console.service.delete_member(&id, &member).await,
        _ => return layout::not_found().await,
    };
    changed(&console, &signed, &id, &action, outcome).await
}

async fn changed(console: &Console, signed: &Signed, id: &str, what: &str, outcome: causeway_model::Result<()>) -> Response {
    console.audit(signed, "POST", &format!("{CURRENT}/{id}/{what}"), "vpc-channels", id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("{CURRENT}/{id}")).into_response(),
        Err(e) => show(console, signed, id, Some(e)).await,
    }
}

/// `GET /console/channels/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/vpc-channels") {
        return forbidden();
    }
    let c = match console.service.get_channel(&id).await {
        Ok(c) => c,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete channel",
            question: &format!("Delete the channel {}?", c.name),
            warning: "A channel that APIs use cannot be deleted: point their backends elsewhere first.",
            action: &format!("{CURRENT}/{id}/delete"),
            fields: &[],
            button: "Delete channel",
            cancel: &format!("{CURRENT}/{id}"),
        },
        CURRENT,
    )
}

/// `POST /console/channels/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/vpc-channels") {
        return denied.into_response();
    }
    let outcome = console.service.delete_channel(&id).await;
    console.audit(&signed, "DELETE", &format!("{CURRENT}/{id}"), "vpc-channels", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(CURRENT).into_response(),
        Err(e) => layout::not_done(&signed, "The channel was not deleted", &e, &format!("{CURRENT}/{id}"), "Back", CURRENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_lines_read_as_hosts_ports_and_weights() {
        let m = members_of("10.0.0.1:8080 5\n\n backend.local \n[2001:db8::1]:81\n2001:db8::2\nh:x");
        let seen: Vec<(Option<String>, Option<i64>, Option<i64>)> = m.into_iter().map(|m| (m.host, m.port, m.weight)).collect();
        assert_eq!(
            seen,
            vec![
                (Some("10.0.0.1".into()), Some(8080), Some(5)),
                (Some("backend.local".into()), None, Some(1)),
                (Some("2001:db8::1".into()), Some(81), Some(1)),
                (Some("2001:db8::2".into()), None, Some(1)),
                // A port that is not a number reaches the service, which names the field.
                (Some("h".into()), Some(-1), Some(1)),
            ]
        );
    }
}
