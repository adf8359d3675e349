//! `GET /v2/{project_id}/apigw/instances`: this installation as the one instance.

use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;

use crate::http::{Query, Reply, page};
use crate::service::{Page, Service};

#[derive(Serialize)]
struct InstanceView {
    id: String,
    instance_name: String,
    /// Huawei's lifecycle state of a working instance.
    status: &'static str,
    instance_status: i32,
    #[serde(rename = "type")]
    kind: &'static str,
    spec: &'static str,
    create_time: i64,
    enterprise_project_id: &'static str,
    eip_address: Option<String>,
    charging_mode: i32,
    cbc_metadata: Option<String>,
    loadbalancer_provider: &'static str,
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let instance = s.instance();
    let name = q.get("instance_name");
    let id = q.get("instance_id");
    let matches = name.is_none_or(|n| instance.name.contains(n)) && id.is_none_or(|i| instance.id == i);
    let items: Vec<InstanceView> = matches
        .then(|| InstanceView {
            id: instance.id.clone(),
            instance_name: instance.name.clone(),
            status: "Running",
            instance_status: 6,
            kind: "apig",
            spec: "PROFESSIONAL",
            create_time: 0,
            enterprise_project_id: "0",
            eip_address: None,
            charging_mode: 0,
            cbc_metadata: None,
            loadbalancer_provider: "elb",
        })
        .into_iter()
        .collect();
    page("instances", Page::of(items, &q.paging()?))
}
