//! The console in a real browser: Playwright (from PyPI) drives Debian's
//! Chromium through a new user's first session against the real binary and
//! a real backend (tests/browser/walkthrough.py says what it does), writing
//! a screenshot of each step under `target/console-screenshots/`. `.ci/run`
//! installs Chromium and Playwright and names the interpreter in
//! `CAUSEWAY_TEST_PLAYWRIGHT` (and the browser in `CAUSEWAY_TEST_CHROMIUM`).

mod common;

use std::path::PathBuf;

use common::echo::Echo;
use common::{Server, TOKEN};

#[tokio::test]
async fn a_new_user_creates_publishes_calls_and_deletes_an_api_in_chromium() {
    let Some(python) = common::service("CAUSEWAY_TEST_PLAYWRIGHT") else { return };
    let chromium = std::env::var("CAUSEWAY_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let echo = Echo::start().await;
    let s = Server::start().await;
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/walkthrough.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .env("CONSOLE", &s.admin)
        .env("GATEWAY", &s.gateway)
        .env("BACKEND", echo.addr.to_string())
        .env("TOKEN", TOKEN)
        .env("CHROMIUM", &chromium)
        .env("SHOTS", &shots)
        .output()
        .await
        .expect("run the walkthrough");
    let said = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the walkthrough failed:\n{said}");
    assert!(said.contains("walkthrough done"), "{said}");

    // What the browser did is what the store holds: the group stays, the API is gone, the app is authorized to nothing.
    let (status, groups) = s.get("/api-groups?name=shop").await;
    assert_eq!(status, 200);
    assert_eq!(groups["groups"].as_array().map(Vec::len), Some(1), "{groups}");
    let (_, apis) = s.get("/apis?name=get_order").await;
    assert_eq!(apis["total"], 0, "{apis}");
    let (_, apps) = s.get("/apps?name=mobile_app").await;
    assert_eq!(apps["total"], 1, "{apps}");
    // Every change the console made is in the audit log, under the bootstrap token.
    let (_, audit) = s.get("/audit-logs?page_size=100").await;
    let paths: Vec<&str> = audit["audit_logs"].as_array().into_iter().flatten().filter_map(|l| l["path"].as_str()).collect();
    for made in ["/console/apis/new", "/publish", "/edit", "/switch", "/authorize", "/delete"] {
        assert!(paths.iter().any(|p| p.starts_with("/console") && p.contains(made)), "{made} not audited: {paths:?}");
    }
    // A screenshot of every step.
    let taken = std::fs::read_dir(&shots).map(|d| d.count()).unwrap_or(0);
    assert!(taken >= 14, "{taken} screenshots in {}", shots.display());
}
