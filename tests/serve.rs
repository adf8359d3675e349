//! `causeway serve` as an operator runs it: token bootstrap, data directory,
//! configuration errors, graceful shutdown.

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;

/// Runs `causeway serve` in `dir` without `CAUSEWAY_ADMIN_TOKEN`; returns the child and its admin address.
fn serve_in(dir: &std::path::Path) -> (std::process::Child, String, String) {
    let mut child = Command::new(Server::binary())
        .args(["serve", "--admin-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("CAUSEWAY_ADMIN_TOKEN")
        .env("CAUSEWAY_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    let addr = loop {
        let mut buf = [0u8; 4096];
        let n = stderr.read(&mut buf).unwrap();
        log.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(line) = log.lines().find(|l| l.contains("admin API listening")) {
            break line.split("addr=").nth(1).unwrap().trim().to_string();
        }
        assert!(n > 0 && Instant::now() < deadline, "no listening line in {log}");
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr, log)
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn first_start_generates_a_private_token_and_later_starts_reuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, log) = serve_in(dir.path());

    // The default data directory is created with the SQLite store and the token in it.
    let data = dir.path().join("causeway-data");
    assert!(data.join("causeway.db").exists());
    // HTTPS works out of the box on a self-signed certificate for the groups' subdomains,
    // and a secret key seals uploaded private keys; both keys are private files.
    assert!(log.contains("created a self-signed default certificate"), "{log}");
    assert!(std::fs::read_to_string(data.join("tls/default.crt")).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    for private in ["tls/default.key", "secret-key"] {
        assert_eq!(std::fs::metadata(data.join(private)).unwrap().permissions().mode() & 0o777, 0o600, "{private}");
    }
    let token_path = data.join("admin-token");
    let token = std::fs::read_to_string(&token_path).unwrap();
    assert_eq!(std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777, 0o600);

    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1.0/apigw/api-groups");
    let res = http.get(&url).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(res.status(), 200);

    assert!(terminate(&mut child).success(), "graceful shutdown exits 0");
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(out.contains(&token), "the generated token is printed once: {out:?}");

    // The second start reads the same token and prints nothing, and keeps the certificate.
    let cert = std::fs::read(data.join("tls/default.crt")).unwrap();
    let (mut child, addr, log) = serve_in(dir.path());
    assert!(!log.contains("created a self-signed"), "{log}");
    assert_eq!(std::fs::read(data.join("tls/default.crt")).unwrap(), cert);
    let res = http.get(format!("http://{addr}/v1.0/apigw/api-groups")).header("X-Auth-Token", &token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(terminate(&mut child).success());
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(!out.contains(&token), "the token is printed only when generated");
}

#[test]
fn bad_settings_fail_fast_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let out = Command::new(Server::binary())
            .arg("serve")
            .args(args)
            .current_dir(dir.path())
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, err) = run(&["--admin-listen", "not-an-address"], &[]);
    assert!(!ok && err.contains("admin-listen"), "{err}");
    let (ok, err) = run(&["--store", "mysql://x"], &[]);
    assert!(!ok && err.contains("unsupported store URL"), "{err}");
    let (ok, err) = run(&[], &[("CAUSEWAY_BASE_DOMAIN", "not a domain")]);
    assert!(!ok && err.contains("base domain"), "{err}");
    std::fs::write(dir.path().join("bad.toml"), "listen = 5").unwrap();
    let (ok, err) = run(&["--config", "bad.toml"], &[]);
    assert!(!ok && err.contains("bad.toml"), "{err}");
    let (ok, err) = run(&["--config", "missing.toml"], &[]);
    assert!(!ok && err.contains("missing.toml"), "{err}");
}
