//! Secrets at rest: app secrets, AppCodes, signature-key secrets, IAM
//! issuers' secrets and admin credentials are never in the store in clear
//! (the SQLite file or PostgreSQL's rows), still work for calls, and a store
//! written before sealing is sealed when the server starts.

mod common;

use common::echo::Echo;
use common::{Backend, Server};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const APP_SECRET: &str = "AppSecret0001_kept_sealed";
const SIGN_SECRET: &str = "SignSecret0002_kept_sealed";
const IAM_SECRET: &str = "IamSharedSecret0003-kept-sealed-at-rest";

fn app_code(tag: char) -> String {
    format!("Code{tag}{}", "x".repeat(70))
}

fn coded_api(group: &str, echo: &Echo) -> Value {
    json!({
      "group_id": group, "name": "coded", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/coded",
      "auth_type": "APP", "auth_opt": {"app_code_auth_type": "HEADER"},
      "backend_type": "HTTP",
      "backend_api": {"url_domain": echo.addr.to_string(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/seen", "timeout": 5000}
    })
}

/// Creates one of each secret; returns the secrets issued by the server (the admin credential's).
async fn create_secrets(s: &Server) -> Vec<String> {
    let (status, app) = s.post("/apps", &json!({"name": "sealed_app", "app_key": "sealed-app-key", "app_secret": APP_SECRET})).await;
    assert_eq!(status, 201, "{app}");
    let (status, code) = s.post(&format!("/apps/{}/app-codes", app["id"].as_str().unwrap()), &json!({"app_code": app_code('A')})).await;
    assert_eq!(status, 201, "{code}");
    let (status, sign) = s.post("/signs", &json!({"name": "sealed_sign", "sign_type": "hmac", "sign_key": "sealed_sign_key", "sign_secret": SIGN_SECRET})).await;
    assert_eq!(status, 201, "{sign}");
    let (status, iam) = s.post("/iam-issuers", &json!({"name": "sealed_iam", "issuer": "https://issuer.example", "algorithm": "HS256", "secret": IAM_SECRET})).await;
    assert_eq!(status, 201, "{iam}");
    let (_, token) = s.post("/admin-credentials", &json!({"name": "sealed_token", "role": "viewer"})).await;
    let (_, aksk) = s.post("/admin-credentials", &json!({"name": "sealed_aksk", "role": "viewer", "type": "AKSK"})).await;
    // Read back through the API, in clear, as the vendors' APIs show them.
    let (_, shown) = s.get(&format!("/apps/{}", app["id"].as_str().unwrap())).await;
    assert_eq!(shown["app_secret"], APP_SECRET);
    vec![token["token"].as_str().unwrap().to_string(), aksk["secret_key"].as_str().unwrap().to_string()]
}

fn assert_none_in_clear(stored: &[u8], secrets: &[String]) {
    for secret in secrets {
        assert!(!common::contains(stored, secret.as_bytes()), "{secret} is in the store in clear");
    }
}

fn all_secrets(issued: &[String]) -> Vec<String> {
    let mut all = vec![APP_SECRET.to_string(), SIGN_SECRET.to_string(), IAM_SECRET.to_string(), app_code('A')];
    all.extend(issued.iter().cloned());
    all
}

#[tokio::test]
async fn no_secret_is_in_the_sqlite_file() {
    let s = Server::start().await;
    let issued = create_secrets(&s).await;
    let stored = s.stored_bytes().await;
    assert_none_in_clear(&stored, &all_secrets(&issued));
    // The non-secret parts are there (the check looks at the right bytes).
    assert!(common::contains(&stored, b"sealed-app-key") && common::contains(&stored, b"sealed_sign_key"));
}

#[tokio::test]
async fn no_secret_is_in_the_postgres_rows() {
    let Some(backend) = Backend::postgres() else { return };
    let s = Server::start_with(backend, &[]).await;
    let issued = create_secrets(&s).await;
    let stored = s.stored_bytes().await;
    assert_none_in_clear(&stored, &all_secrets(&issued));
    assert!(common::contains(&stored, b"sealed-app-key"));
}

/// A store written before sealing: its clear secrets are sealed (and AppCodes
/// re-keyed by their hash) on start, and keep working.
#[tokio::test]
async fn a_store_written_in_clear_is_sealed_on_start() {
    let echo = Echo::start().await;
    let mut s = Server::start_with(Backend::Sqlite, &["--allow-app-code-over-http"]).await;
    let group = s.group("legacy").await;
    let api = s.create_and_publish(&coded_api(&group, &echo), RELEASE).await;
    {
        use sqlx::Executor;
        let url = format!("sqlite://{}/causeway.db", s.data_dir.path().display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let app = json!({"id": "0000000000000000000000000000a001", "name": "legacy_app", "status": 1, "app_key": "legacy-app-key",
            "app_secret": APP_SECRET, "creator": "USER", "register_time": "2026-01-01T00:00:00Z", "update_time": "2026-01-01T00:00:00Z", "app_type": "apig"});
        let code = json!({"id": "0000000000000000000000000000c001", "app_code": app_code('L'), "app_id": "0000000000000000000000000000a001", "create_time": "2026-01-01T00:00:00Z"});
        let sign = json!({"id": "0000000000000000000000000000b001", "name": "legacy_sign", "sign_type": "hmac", "sign_key": "legacy_sign_key",
            "sign_secret": SIGN_SECRET, "create_time": "2026-01-01T00:00:00Z", "update_time": "2026-01-01T00:00:00Z"});
        for (kind, id, parent, body, keys) in [
            ("app", "0000000000000000000000000000a001", "NULL".to_string(), app, vec!["name:legacy_app".to_string(), "key:legacy-app-key".to_string()]),
            ("app_code", "0000000000000000000000000000c001", "'0000000000000000000000000000a001'".to_string(), code, vec![format!("code:{}", app_code('L'))]),
            ("sign_key", "0000000000000000000000000000b001", "NULL".to_string(), sign, vec!["name:legacy_sign".to_string()]),
        ] {
            let insert = format!(
                "INSERT INTO documents (kind, id, parent, body, revision, seq) VALUES ('{kind}', '{id}', {parent}, '{body}', \
                 (SELECT value FROM meta WHERE name = 'revision'), 900000 + (SELECT COUNT(*) FROM documents))"
            );
            pool.execute(sqlx::AssertSqlSafe(insert)).await.unwrap();
            for key in keys {
                pool.execute(sqlx::AssertSqlSafe(format!("INSERT INTO doc_keys (kind, key, id) VALUES ('{kind}', '{key}', '{id}')"))).await.unwrap();
            }
        }
        pool.close().await;
    }
    assert!(common::contains(&s.sqlite_bytes(), APP_SECRET.as_bytes()), "the legacy secret starts in clear");

    s.restart();
    let stored = s.sqlite_bytes();
    assert_none_in_clear(&stored, &[APP_SECRET.to_string(), SIGN_SECRET.to_string(), app_code('L')]);
    // Still read in clear through the API, and still usable by callers.
    let (_, app) = s.get("/apps/0000000000000000000000000000a001").await;
    assert_eq!(app["app_secret"], APP_SECRET, "{app}");
    let (status, out) = s.post("/app-auths", &json!({"api_ids": [api], "app_ids": ["0000000000000000000000000000a001"], "env_id": RELEASE})).await;
    assert_eq!(status, 201, "{out}");
    let host = Server::group_host(&group);
    let called = s.eventually("GET", &host, "/coded", &[("X-Apig-AppCode", &app_code('L'))], |c| c.status == 200).await;
    assert_eq!(called.status, 200, "{}", called.body);
    // The re-keyed AppCode is still unique: the same code cannot be added again.
    let (status, dup) = s.post("/apps/0000000000000000000000000000a001/app-codes", &json!({"app_code": app_code('L')})).await;
    assert_eq!(status, 400, "{dup}");
}

/// `causeway rotate-secret-key` seals everything again with a new key: the
/// server starts on the new key with every secret working, the old key no
/// longer opens them.
#[tokio::test]
async fn the_secret_key_is_rotated_with_every_secret_sealed_again() {
    let mut s = Server::start().await;
    let issued = create_secrets(&s).await;
    let (_, aksk) = s.post("/admin-credentials", &json!({"name": "rotated_aksk", "role": "viewer", "type": "AKSK"})).await;
    let (ak, sk) = (aksk["access_key"].as_str().unwrap().to_string(), aksk["secret_key"].as_str().unwrap().to_string());
    let (_, apps) = s.get("/apps?name=sealed_app").await;
    let app_id = apps["apps"][0]["id"].as_str().unwrap().to_string();
    s.stop();

    let dir = s.data_dir.path().to_path_buf();
    let old_key = std::fs::read_to_string(dir.join("secret-key")).unwrap();
    let out = std::process::Command::new(Server::binary())
        .args(["rotate-secret-key", "--data-dir", dir.to_str().unwrap(), "--store", &format!("sqlite://{}/causeway.db", dir.display())])
        .env_remove("CAUSEWAY_SECRET_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("sealed values sealed again"), "{said}");
    let new_key = std::fs::read_to_string(dir.join("secret-key")).unwrap();
    assert_ne!(new_key, old_key);
    assert_eq!(std::fs::read_to_string(dir.join("secret-key.old")).unwrap(), old_key);
    assert!(!dir.join("secret-key.new").exists());
    let stored = s.sqlite_bytes();
    assert_none_in_clear(&stored, &all_secrets(&issued));

    // On the new key: every secret opens and works.
    s.restart();
    let (status, app) = s.get(&format!("/apps/{app_id}")).await;
    assert_eq!((status, app["app_secret"].as_str()), (200, Some(APP_SECRET)), "{app}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (status, _) = s.signed("GET", "/v1.0/apigw/apis", "", causeway_sign::sdk::Key { access: &ak, secret: &sk }, now).await;
    assert_eq!(status, 200, "the AK/SK credential signs with its secret opened by the new key");
    assert_eq!(s.call_as(&issued[0], "GET", "/apis", None).await.0, 200);

    // The old key opens nothing any more: a node started with it refuses to start.
    s.stop();
    std::fs::write(dir.join("secret-key"), &old_key).unwrap();
    let mut node = std::process::Command::new(Server::binary())
        .args(["serve", "--data-dir", dir.to_str().unwrap(), "--store", &format!("sqlite://{}/causeway.db", dir.display())])
        .args(["--admin-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0"])
        .env_remove("CAUSEWAY_SECRET_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = node.kill();
            panic!("a node with the old key started");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut node.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("secret key"), "{err}");
}
