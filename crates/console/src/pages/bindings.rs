//! What policy pages share: the published APIs a policy is bound to (each
//! with Unbind) and a form binding it to others. Throttling, access-control
//! and signature-key policies bind to an API's publication in one
//! environment, so the rows name both.

use maud::{Markup, html};

use crate::Signed;

/// A publication the policy is bound to.
pub struct Bound {
    /// The binding's id (what Unbind sends).
    pub id: String,
    pub api_id: String,
    pub api_name: String,
    pub request: String,
    pub group: String,
    pub env: String,
}

/// A publication it could be bound to.
pub struct Free {
    pub publish_id: String,
    pub api_name: String,
    pub request: String,
    pub group: String,
    pub env: String,
}

/// The bindings of the policy at `base` (`/console/acls/{id}`): a table,
/// and a form binding it to `free` publications (posting to `{base}/bind`,
/// `publish_id` repeated; Unbind posts `binding_id` to `{base}/unbind`).
pub fn section(signed: &Signed, base: &str, bound: &[Bound], free: &[Free], can_write: bool) -> Markup {
    let csrf = &signed.session.csrf;
    html! {
        section.card.wide aria-labelledby="bindings" {
            h2 id="bindings" { "Bound APIs" }
            @if bound.is_empty() {
                p.empty { "Not bound to any API yet." @if can_write && !free.is_empty() { " Choose published APIs below." } }
            } @else {
                table {
                    thead { tr { th { "API" } th { "Request" } th { "Group" } th { "Environment" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for b in bound {
                            tr {
                                td { a href=(format!("/console/apis/{}", b.api_id)) { (b.api_name) } }
                                td { code { (b.request) } }
                                td { (b.group) }
                                td { (b.env) }
                                @if can_write {
                                    td {
                                        form method="post" action=(format!("{base}/unbind")) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="binding_id" value=(b.id);
                                            button.small type="submit" aria-label=(format!("Unbind {} in {}", b.api_name, b.env)) { "Unbind" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_write {
                @if free.is_empty() {
                    p.muted { "No other published API to bind. Publish an API to an environment first." }
                } @else {
                    form method="post" action=(format!("{base}/bind")) {
                        input type="hidden" name="csrf" value=(csrf);
                        fieldset {
                            legend { "Bind to published APIs" }
                            @for f in free {
                                label.check {
                                    input type="checkbox" name="publish_id" value=(f.publish_id);
                                    " " (f.api_name) " " code { (f.request) } " · " (f.group) " · " (f.env)
                                }
                            }
                        }
                        button type="submit" { "Bind the chosen APIs" }
                    }
                }
            }
        }
    }
}
