//! The operator CLI against a real `causeway serve`: every kind of resource
//! created, read by name, changed and deleted from the command line;
//! publishing, versions and authorizing; connection profiles; and the
//! errors a user sees for bad input and an unreachable server.

mod common;

use std::path::Path;
use std::process::Command;

use common::echo::Echo;
use common::{Server, TOKEN};
use serde_json::Value;

/// What a run printed.
struct Ran {
    ok: bool,
    out: String,
    err: String,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.out, self.err))
    }
}

/// The CLI with an empty home (no profile file of the machine's) and `env` set.
fn causeway(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut cmd = Command::new(Server::binary());
    cmd.args(args).env_clear().env("HOME", home).env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("causeway runs");
    Ran { ok: out.status.success(), out: String::from_utf8_lossy(&out.stdout).into_owned(), err: String::from_utf8_lossy(&out.stderr).into_owned() }
}

struct Cli<'a> {
    s: &'a Server,
    home: tempfile::TempDir,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Ran {
        causeway(self.home.path(), args, &[("CAUSEWAY_ENDPOINT", &self.s.admin), ("CAUSEWAY_ADMIN_TOKEN", TOKEN)])
    }

    /// A run that must succeed.
    fn ok(&self, args: &[&str]) -> Ran {
        let r = self.run(args);
        assert!(r.ok, "causeway {}: {}\n{}", args.join(" "), r.out, r.err);
        r
    }

    /// A run that must fail; its error output.
    fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(!r.ok, "causeway {} should have failed: {}", args.join(" "), r.out);
        r.err
    }
}

// The CLI runs blocking; the echo backend needs a thread of its own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_created_read_by_name_changed_and_deleted() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let cli = Cli { s: &s, home: tempfile::tempdir().unwrap() };
    let backend = echo.address();

    // Groups, by --set; read back by name as a table, JSON and YAML.
    let made = cli.ok(&["create", "group", "--set", "name=shop", "--set", "remark=the shop"]);
    assert!(made.out.starts_with("group shop created ("), "{}", made.out);
    let table = cli.ok(&["get", "groups"]).out;
    assert!(table.starts_with("NAME") && table.lines().any(|l| l.starts_with("shop ") && l.ends_with("the shop")), "{table}");
    let group = cli.ok(&["get", "group", "shop", "-o", "json"]).json();
    let group_id = group["id"].as_str().unwrap().to_string();
    assert!(cli.ok(&["describe", "group", "shop"]).out.contains("remark: the shop"));

    // Environments and variables (group and env by name).
    cli.ok(&["create", "env", "--set", "name=STAGING"]);
    cli.ok(&["create", "variable", "--set", "group=shop", "--set", "env=STAGING", "--set", "variable_name=backend", "--set", &format!("variable_value={backend}")]);
    let vars = cli.ok(&["get", "variables", "--group", "shop", "-o", "json"]).json();
    assert_eq!(vars[0]["variable_value"], backend.as_str(), "{vars}");

    // An API from a YAML file, its group by --group.
    let file = cli.home.path().join("orders.yaml");
    std::fs::write(
        &file,
        format!(
            "name: orders\ntype: 1\nreq_protocol: BOTH\nreq_method: GET\nreq_uri: /orders\nauth_type: APP\nbackend_type: HTTP\nbackend_api:\n  url_domain: \"{backend}\"\n  req_protocol: HTTP\n  req_method: GET\n  req_uri: /backend/orders\n  timeout: 5000\n"
        ),
    )
    .unwrap();
    cli.ok(&["create", "api", "-f", file.to_str().unwrap(), "--group", "shop"]);
    let api = cli.ok(&["get", "api", "orders", "-o", "json"]).json();
    assert_eq!((api["group_id"].as_str(), api["backend_api"]["timeout"].as_i64()), (Some(group_id.as_str()), Some(5000)), "{api}");
    // Changed field by field; unchanged without a difference.
    cli.ok(&["edit", "api", "orders", "--set", "backend_api.timeout=8000", "--set", "remark=orders by id"]);
    let api = cli.ok(&["get", "api", "orders", "-o", "json"]).json();
    assert_eq!((api["backend_api"]["timeout"].as_i64(), api["remark"].as_str()), (Some(8000), Some("orders by id")), "{api}");
    assert!(cli.ok(&["edit", "api", "orders", "--set", "remark=orders by id"]).out.contains("nothing changed"));

    // Published, versions listed, an app authorized and calling it signed, switched back, offline.
    cli.ok(&["publish", "orders", "--env", "RELEASE", "--remark", "first"]);
    cli.ok(&["edit", "api", "orders", "--set", "backend_api.req_uri=/backend/v2/orders"]);
    cli.ok(&["publish", "orders", "--remark", "second"]);
    let versions = cli.ok(&["versions", "orders", "-o", "json"]).json();
    assert_eq!(versions.as_array().map(Vec::len), Some(2), "{versions}");
    let first = versions.as_array().unwrap().iter().find(|v| v["remark"] == "first").unwrap()["version_id"].as_str().unwrap().to_string();
    let table = cli.ok(&["versions", "orders"]).out;
    assert!(table.contains("effective") && table.contains("earlier"), "{table}");
    cli.ok(&["create", "app", "--set", "name=mobile"]);
    let app = cli.ok(&["get", "app", "mobile", "-o", "json"]).json();
    cli.ok(&["authorize", "mobile", "orders", "--env", "RELEASE"]);
    let host = Server::group_host(&group_id);
    let call = |expect: &str| {
        let out = Command::new(Server::binary())
            .args(["call", &format!("{}/orders", s.gateway), "--host", &host, "--key", app["app_key"].as_str().unwrap(), "--secret", app["app_secret"].as_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains(expect), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    };
    call("/backend/v2/orders");
    cli.ok(&["switch-version", "orders", &first, "--env", "RELEASE"]);
    call("\"/backend/orders\"");
    cli.ok(&["offline", "orders", "--env", "RELEASE"]);

    // The policies, channels, functions, authorizers, responses and domains.
    for (kind, args, name) in [
        ("throttle", vec!["--set", "name=per_second", "--set", "api_call_limits=100", "--set", "time_interval=1", "--set", "time_unit=SECOND"], "per_second"),
        ("acl", vec!["--set", "acl_name=office", "--set", "acl_type=PERMIT", "--set", "entity_type=IP", "--set", "acl_value=10.0.0.0/8"], "office"),
        ("sign", vec!["--set", "name=backend_key", "--set", "sign_type=hmac"], "backend_key"),
        ("channel", vec!["--set", "name=pool", "--set", "type=2", "--set", "port=80", "--set", "balance_strategy=1", "--set", "member_type=ip", "--set", r#"members=[{"host":"10.0.0.1","weight":1}]"#], "pool"),
        ("function", vec!["--set", "name=greeter", "--set", "runtime=javascript", "--set", "code=exports.handler = async () => ({statusCode: 200, body: 'hi'});"], "greeter"),
    ] {
        let mut create = vec!["create", kind];
        create.extend(args.iter().copied());
        cli.ok(&create);
        let listed = cli.ok(&["get", kind]).out;
        assert!(listed.lines().any(|l| l.starts_with(&format!("{name} "))), "{kind}: {listed}");
        assert!(cli.ok(&["get", kind, name, "-o", "yaml"]).out.contains(name));
    }
    let urn = cli.ok(&["get", "function", "greeter", "-o", "json"]).json()["urn"].as_str().unwrap().to_string();
    cli.ok(&["create", "authorizer", "--set", "name=gate", "--set", "type=FRONTEND", "--set", "authorizer_type=FUNC", "--set", &format!("authorizer_uri={urn}")]);
    assert!(cli.ok(&["get", "authorizers"]).out.contains("gate"));
    cli.ok(&["create", "response", "--group", "shop", "--set", "name=partner"]);
    assert!(cli.ok(&["get", "responses", "--group", "shop"]).out.lines().any(|l| l.starts_with("partner ")));
    cli.ok(&["create", "domain", "--group", "shop", "--set", "url_domain=shop.example.com"]);
    assert!(cli.ok(&["get", "domains", "--group", "shop"]).out.contains("shop.example.com"));
    // A certificate for the domain, its chain and key read from files (`@FILE`).
    let ca = common::tls::Ca::new("CLI Test CA");
    let (chain, key, _) = ca.issue(&["shop.example.com"], -1, 60);
    let (chain_file, key_file) = (cli.home.path().join("chain.pem"), cli.home.path().join("key.pem"));
    std::fs::write(&chain_file, chain).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let uploaded = cli.ok(&["create", "certificate", "--group", "shop", "--set", "domain=shop.example.com", "--set", "name=shop_cert",
        "--set", &format!("cert_content=@{}", chain_file.display()), "--set", &format!("private_key=@{}", key_file.display())]);
    assert!(uploaded.out.contains("certificate shop_cert uploaded for shop.example.com"), "{}", uploaded.out);
    let certs = cli.ok(&["get", "certificates", "--group", "shop"]).out;
    let expiry = (time::OffsetDateTime::now_utc() + time::Duration::days(60)).date().to_string();
    assert!(certs.contains("shop_cert") && certs.contains(&expiry), "{certs}");
    let described = cli.ok(&["describe", "certificate", "shop.example.com", "--group", "shop"]).out;
    assert!(described.contains("common_name: shop.example.com") && !described.contains("PRIVATE KEY"), "{described}");
    assert!(cli.fails(&["create", "certificate", "--group", "shop", "--set", "domain=shop.example.com", "--set", "cert_content=@/nonexistent.pem"]).contains("cannot read /nonexistent.pem"));
    cli.ok(&["delete", "certificate", "shop.example.com", "--group", "shop"]);
    assert!(!cli.ok(&["get", "certificates", "--group", "shop"]).out.contains("shop_cert"));
    cli.ok(&["edit", "throttle", "per_second", "--set", "api_call_limits=50"]);
    assert_eq!(cli.ok(&["get", "throttle", "per_second", "-o", "json"]).json()["api_call_limits"], 50);

    // Deleted by name, in an order the references allow.
    for (kind, name, extra) in [
        ("domain", "shop.example.com", Some("shop")),
        ("response", "partner", Some("shop")),
        ("authorizer", "gate", None),
        ("function", "greeter", None),
        ("channel", "pool", None),
        ("sign", "backend_key", None),
        ("acl", "office", None),
        ("throttle", "per_second", None),
        ("app", "mobile", None),
        ("api", "orders", None),
        ("variable", "backend", Some("shop")),
        ("env", "STAGING", None),
        ("group", "shop", None),
    ] {
        let mut args = vec!["delete", kind, name];
        if let Some(g) = extra {
            args.extend(["--group", g]);
        }
        assert!(cli.ok(&args).out.contains("deleted"), "{kind}");
        let mut get = vec!["get", kind, name];
        if let Some(g) = extra {
            get.extend(["--group", g]);
        }
        if kind != "group" {
            assert!(cli.fails(&get).contains("no "), "{kind} still there");
        }
    }
    assert!(cli.fails(&["get", "group", "shop"]).contains("no group named or with the id \"shop\""));
}

#[tokio::test]
async fn bad_input_and_unreachable_servers_say_what_is_wrong() {
    let s = Server::start().await;
    let cli = Cli { s: &s, home: tempfile::tempdir().unwrap() };
    assert!(cli.fails(&["get", "widgets"]).contains("no kind of resource \"widgets\"; the kinds are: group, api"));
    // The management API's code and field.
    let err = cli.fails(&["create", "group", "--set", "name=1starts_with_a_digit"]);
    assert!(err.contains("400") && err.contains("APIG.2011") && err.contains("parameterName:name"), "{err}");
    assert_eq!(err.lines().count(), 1, "said once: {err}");
    assert!(cli.fails(&["create", "group"]).contains("give the definition"));
    assert!(cli.fails(&["create", "group", "--set", "novalue"]).contains("FIELD=VALUE"));
    let file = cli.home.path().join("bad.yaml");
    std::fs::write(&file, "name: [unclosed").unwrap();
    assert!(cli.fails(&["create", "group", "-f", file.to_str().unwrap()]).contains("bad.yaml: not valid YAML"));
    assert!(cli.fails(&["get", "responses"]).contains("give --group"));
    // Two APIs of one name in two groups: named by id, or narrowed by group.
    for g in ["north", "south"] {
        cli.ok(&["create", "group", "--set", &format!("name={g}")]);
        cli.ok(&["create", "api", "--group", g, "--set", "name=twin", "--set", "type=1", "--set", "req_method=GET", "--set", "req_uri=/twin",
            "--set", "auth_type=NONE", "--set", "backend_type=MOCK", "--set", r#"mock_info={"result_content":"x"}"#]);
    }
    assert!(cli.fails(&["get", "api", "twin"]).contains("2 apis are named \"twin\""));
    assert_eq!(cli.ok(&["get", "api", "twin", "--group", "south", "-o", "json"]).json()["group_name"], "south");
    // A wrong token, and nobody listening.
    let r = causeway(cli.home.path(), &["get", "groups"], &[("CAUSEWAY_ENDPOINT", &s.admin), ("CAUSEWAY_ADMIN_TOKEN", "not-the-token-0123456789")]);
    assert!(!r.ok && r.err.contains("401"), "{}", r.err);
    let r = causeway(cli.home.path(), &["get", "groups"], &[("CAUSEWAY_ENDPOINT", "http://127.0.0.1:1"), ("CAUSEWAY_ADMIN_TOKEN", TOKEN)]);
    assert!(!r.ok && r.err.contains("cannot connect to 127.0.0.1:1") && r.err.contains("is Causeway's admin API at http://127.0.0.1:1?"), "{}", r.err);
}

#[tokio::test]
async fn profiles_hold_endpoints_and_credentials() {
    let s = Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".config/causeway");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, format!("default = \"local\"\n[profiles.local]\nendpoint = \"{}\"\ntoken = \"{TOKEN}\"\n[profiles.down]\nendpoint = \"http://127.0.0.1:1\"\ntoken = \"x\"\n", s.admin)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Credentials others can read are refused.
    let r = causeway(home.path(), &["get", "groups"], &[]);
    assert!(!r.ok && r.err.contains("chmod 600"), "{}", r.err);
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The default profile, then a named one, then flags over the profile.
    let r = causeway(home.path(), &["get", "groups"], &[]);
    assert!(r.ok && r.out.contains("DEFAULT"), "{}\n{}", r.out, r.err);
    let r = causeway(home.path(), &["get", "groups", "--profile", "down"], &[]);
    assert!(!r.ok && r.err.contains("127.0.0.1:1"), "{}", r.err);
    let r = causeway(home.path(), &["get", "groups", "--profile", "down", "--endpoint", &s.admin, "--admin-token", TOKEN], &[]);
    assert!(r.ok, "{}", r.err);
    let r = causeway(home.path(), &["get", "groups"], &[("CAUSEWAY_PROFILE", "staging")]);
    assert!(!r.ok && r.err.contains("has no profile \"staging\" (it has: down, local)"), "{}", r.err);
    // An access key instead of the token.
    let key = std::fs::read_to_string(s.data_dir.path().join("admin-access-key")).unwrap();
    let mut lines = key.lines();
    let (ak, sk) = (lines.next().unwrap().trim().to_string(), lines.next().unwrap().trim().to_string());
    let r = causeway(home.path(), &["get", "envs", "--endpoint", &s.admin, "--access-key", &ak, "--secret-key", &sk], &[("CAUSEWAY_PROFILE", "down")]);
    assert!(r.ok && r.out.contains("RELEASE"), "{}\n{}", r.out, r.err);
    // Completions for the shells.
    for shell in ["bash", "zsh", "fish"] {
        let r = causeway(home.path(), &["completions", shell], &[]);
        assert!(r.ok && r.out.contains("describe") && r.out.contains("switch-version"), "{shell}: {}", r.err);
    }
    // Nothing configured and no credentials given: the admin token file of a local server's data directory.
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("admin-token"), format!("{TOKEN}\n")).unwrap();
    let r = causeway(tempfile::tempdir().unwrap().path(), &["get", "groups", "--data-dir", data.path().to_str().unwrap(), "--endpoint", &s.admin], &[]);
    assert!(r.ok && r.out.contains("DEFAULT"), "{}", r.err);
    let r = causeway(tempfile::tempdir().unwrap().path(), &["get", "groups", "--data-dir", "/nonexistent", "--endpoint", &s.admin], &[]);
    assert!(!r.ok && r.err.contains("no admin credentials"), "{}", r.err);
}
