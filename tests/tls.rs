//! HTTPS end to end: the self-signed default certificate, domains bound to
//! groups with their own certificates chosen by SNI, certificate checks on
//! upload, protocol rules per API over each scheme, HTTP → HTTPS redirects,
//! and HTTP/2 by ALPN.

mod common;

use common::echo::{self, Echo};
use common::tls::{self as client, Ca, answer, request, request2};
use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn mock_api(group: &str, name: &str, path: &str, protocol: &str, content: &str) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": protocol, "req_method": "ANY", "req_uri": path,
      "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": content}
    })
}

async fn bind(s: &Server, group: &str, domain: &str) -> String {
    let (status, d) = s.post(&format!("/api-groups/{group}/domains"), &json!({"url_domain": domain})).await;
    assert_eq!(status, 201, "{d}");
    assert_eq!(d["url_domain"], domain);
    assert_eq!(d["status"], 3);
    d["id"].as_str().unwrap().to_string()
}

async fn upload(s: &Server, group: &str, domain_id: &str, name: &str, chain: &str, key: &str) -> (u16, Value) {
    s.post(&format!("/api-groups/{group}/domains/{domain_id}/certificate"), &json!({"name": name, "cert_content": chain, "private_key": key})).await
}

#[tokio::test]
async fn certificates_by_sni_exact_wildcard_and_default() {
    let s = Server::start().await;
    let (g1, g2) = (s.group("shop").await, s.group("stock").await);
    s.create_and_publish(&mock_api(&g1, "shop_api", "/hello", "HTTPS", "from shop"), RELEASE).await;
    s.create_and_publish(&mock_api(&g2, "stock_api", "/hello", "HTTPS", "from stock"), RELEASE).await;

    // Out of the box: the self-signed `*.<base-domain>` certificate, for the groups' subdomains.
    let sub = Server::group_host(&g1);
    let first = client::connect(s.gateway_tls, Some(&sub), client::any_cert(&[])).await.expect("handshake on the default certificate");
    let default_der = client::served(&first).to_vec();
    let default_pem = std::fs::read_to_string(s.data_dir.path().join("tls/default.crt")).unwrap();
    let trusted_default = client::connect(s.gateway_tls, Some(&sub), client::trusting(&default_pem, &[])).await;
    assert!(trusted_default.is_ok(), "the default certificate covers the groups' subdomains: {:?}", trusted_default.err());
    let c = client::get(s.gateway_tls, &sub, "/hello", &[]).await;
    assert_eq!((c.status, c.body.as_str()), (200, "from shop"));

    // Without SNI the handshake is refused.
    assert!(client::connect(s.gateway_tls, None, client::any_cert(&[])).await.is_err());

    // Bound domains with their own certificates: exact and wildcard.
    let ca = Ca::new("Causeway Test CA");
    let shop = bind(&s, &g1, "api.example.com").await;
    let (chain, key, shop_der) = ca.issue(&["api.example.com"], -1, 30);
    let (status, body) = upload(&s, &g1, &shop, "shop_cert", &chain, &key).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ssl_name"], "shop_cert");
    let stock = bind(&s, &g2, "*.example.net").await;
    let (chain, key, stock_der) = ca.issue(&["*.example.net"], -1, 30);
    assert_eq!(upload(&s, &g2, &stock, "stock_cert", &chain, &key).await.0, 201);

    for (sni, want, body) in [("api.example.com", &shop_der, "from shop"), ("eu.example.net", &stock_der, "from stock")] {
        let tls = client::connect(s.gateway_tls, Some(sni), client::trusting(&ca.pem, &[b"http/1.1"])).await.unwrap_or_else(|e| panic!("{sni}: {e}"));
        assert_eq!(client::served(&tls).as_ref(), want.as_slice(), "{sni}");
        // The bound domain routes to its group.
        let mut h1 = client::http1(tls).await;
        let a = answer(h1.send_request(request("GET", sni, "/hello", &[])).await.unwrap()).await;
        assert_eq!((a.status, a.body.as_str()), (200, body), "{sni}");
    }
    // A wildcard covers one label; other names get the default certificate.
    for sni in ["a.b.example.net", "other.example.org"] {
        let tls = client::connect(s.gateway_tls, Some(sni), client::any_cert(&[])).await.unwrap();
        assert_eq!(client::served(&tls).to_vec(), default_der, "{sni}");
    }

    // The group lists its domains; unbinding sends the name back to the DEFAULT group.
    let (_, group) = s.get(&format!("/api-groups/{g1}")).await;
    assert_eq!(group["url_domains"][0]["domain"], "api.example.com");
    assert_eq!(group["url_domains"][0]["ssl_name"], "shop_cert");
    assert_eq!(group["url_domains"][0]["cname_status"], 3);
    let (status, _) = s.delete(&format!("/api-groups/{g1}/domains/{shop}")).await;
    assert_eq!(status, 204);
    let gone = client::get(s.gateway_tls, "api.example.com", "/hello", &[]).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["error_code"], "APIG.0101");
    let tls = client::connect(s.gateway_tls, Some("api.example.com"), client::any_cert(&[])).await.unwrap();
    assert_eq!(client::served(&tls).to_vec(), default_der);
}

#[tokio::test]
async fn no_sni_gets_the_default_certificate_when_the_operator_allows_it() {
    let s = Server::start_with(common::Backend::Sqlite, &["--tls-default-without-sni"]).await;
    let g = s.group("by_ip").await;
    s.create_and_publish(&mock_api(&g, "ip_api", "/ip", "BOTH", "by address"), RELEASE).await;
    let tls = client::connect(s.gateway_tls, None, client::any_cert(&[])).await.expect("handshake without SNI");
    let mut h1 = client::http1(tls).await;
    let a = answer(h1.send_request(request("GET", &Server::group_host(&g), "/ip", &[])).await.unwrap()).await;
    assert_eq!((a.status, a.body.as_str()), (200, "by address"));
}

#[tokio::test]
async fn a_replaced_certificate_serves_new_handshakes_and_open_connections_go_on() {
    let s = Server::start().await;
    let g = s.group("rotating").await;
    s.create_and_publish(&mock_api(&g, "rot_api", "/r", "HTTPS", "ok"), RELEASE).await;
    let ca = Ca::new("Rotation CA");
    let d = bind(&s, &g, "rotate.example.com").await;
    let (chain, key, old_der) = ca.issue(&["rotate.example.com"], -1, 30);
    assert_eq!(upload(&s, &g, &d, "old_cert", &chain, &key).await.0, 201);

    let open = client::connect(s.gateway_tls, Some("rotate.example.com"), client::trusting(&ca.pem, &[b"http/1.1"])).await.unwrap();
    assert_eq!(client::served(&open).as_ref(), old_der.as_slice());
    let mut kept = client::http1(open).await;
    assert_eq!(answer(kept.send_request(request("GET", "rotate.example.com", "/r", &[])).await.unwrap()).await.status, 200);

    let (chain, key, new_der) = ca.issue(&["rotate.example.com"], -1, 60);
    let (status, body) = upload(&s, &g, &d, "new_cert", &chain, &key).await;
    assert_eq!(status, 201, "{body}");
    assert_ne!(new_der, old_der);
    // A new client (one that resumes its earlier session sees that session's certificate).
    let fresh = client::connect(s.gateway_tls, Some("rotate.example.com"), client::trusting(&ca.pem, &[])).await.unwrap();
    assert_eq!(client::served(&fresh).as_ref(), new_der.as_slice(), "new handshakes get the new certificate");
    // The connection opened before goes on.
    let again = answer(kept.send_request(request("GET", "rotate.example.com", "/r", &[])).await.unwrap()).await;
    assert_eq!((again.status, again.body.as_str()), (200, "ok"));

    // The certificate can be read back (never its key), and deleted.
    let ssl_id = body["ssl_id"].as_str().unwrap();
    let (status, cert) = s.get(&format!("/api-groups/{g}/domains/{d}/certificate/{ssl_id}")).await;
    assert_eq!(status, 200, "{cert}");
    assert_eq!(cert["name"], "new_cert");
    assert_eq!(cert["san"], json!(["rotate.example.com"]));
    assert!(cert["not_after"].as_str().unwrap().ends_with('Z'));
    assert!(!cert.to_string().contains("PRIVATE KEY"), "{cert}");
    assert_error(&s.get(&format!("/api-groups/{g}/domains/{d}/certificate/{}", "0".repeat(32))).await, 404, "APIG.3021", None);
    let (status, _) = s.delete(&format!("/api-groups/{g}/domains/{d}/certificate/{ssl_id}")).await;
    assert_eq!(status, 204);
    let after = client::connect(s.gateway_tls, Some("rotate.example.com"), client::trusting(&ca.pem, &[])).await;
    assert!(after.is_err(), "without its certificate the domain gets the default one, which the CA did not sign");
}

#[tokio::test]
async fn uploads_and_bindings_are_checked() {
    let s = Server::start().await;
    let (g, other) = (s.group("checked").await, s.group("other_group").await);
    let ca = Ca::new("Checks CA");
    let d = bind(&s, &g, "secure.example.com").await;

    let (chain, key, _) = ca.issue(&["secure.example.com"], -1, 30);
    let (_, other_key, _) = ca.issue(&["secure.example.com"], -1, 30);
    assert_error(&upload(&s, &g, &d, "cert_one", &chain, &other_key).await, 400, "APIG.2101", None);
    let (old_chain, old_key, _) = ca.issue(&["secure.example.com"], -60, -1);
    assert_error(&upload(&s, &g, &d, "cert_one", &old_chain, &old_key).await, 400, "APIG.2102", None);
    let (wrong_chain, wrong_key, _) = ca.issue(&["elsewhere.example.com"], -1, 30);
    let mismatch = upload(&s, &g, &d, "cert_one", &wrong_chain, &wrong_key).await;
    assert_error(&mismatch, 400, "APIG.2103", None);
    assert!(mismatch.1["error_msg"].as_str().unwrap().contains("elsewhere.example.com"), "{}", mismatch.1);
    let other_ca = Ca::new("Another CA");
    let leaf_only = chain.split_inclusive("-----END CERTIFICATE-----\n").next().unwrap();
    assert_error(&upload(&s, &g, &d, "cert_one", &format!("{leaf_only}{}", other_ca.pem), &key).await, 400, "APIG.2104", None);
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_error(&upload(&s, &g, &d, "cert_one", &chain, encrypted).await, 400, "APIG.2105", None);
    assert_error(&upload(&s, &g, &d, "cert_one", "not a certificate", &key).await, 400, "APIG.2106", None);
    assert_error(&upload(&s, &g, &d, "c1", &chain, &key).await, 400, "APIG.2011", Some("name"));
    assert_error(&s.post(&format!("/api-groups/{g}/domains/{d}/certificate"), &json!({"name": "cert_one"})).await, 400, "APIG.2001", Some("cert_content"));
    assert_error(&upload(&s, &g, &"0".repeat(32), "cert_one", &chain, &key).await, 404, "APIG.3020", None);
    assert_error(&upload(&s, &other, &d, "cert_one", &chain, &key).await, 404, "APIG.3020", None);
    let (status, body) = upload(&s, &g, &d, "cert_one", &chain, &key).await;
    assert_eq!(status, 201, "{body}");

    // The private key is sealed in the store: the database file never holds it in clear.
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let db = std::fs::read(s.data_dir.path().join("causeway.db")).unwrap();
    let wal = std::fs::read(s.data_dir.path().join("causeway.db-wal")).unwrap_or_default();
    for file in [&db, &wal] {
        assert!(!String::from_utf8_lossy(file).contains(&key_body[..40]), "the private key is stored in clear");
    }

    // Domains: valid names, unique across groups, a handful per group, never under the base domain.
    assert_error(&s.post(&format!("/api-groups/{other}/domains"), &json!({"url_domain": "secure.example.com"})).await, 400, "APIG.3305", Some("url_domain"));
    for bad in ["localhost", "10.0.0.1", "bad_name.example.com", "http://x.example.com"] {
        assert_error(&s.post(&format!("/api-groups/{g}/domains"), &json!({"url_domain": bad})).await, 400, "APIG.2024", Some("url_domain"));
    }
    assert_error(&s.post(&format!("/api-groups/{g}/domains"), &json!({"url_domain": "x.apigw.localhost"})).await, 400, "APIG.2024", None);
    assert_error(&s.post(&format!("/api-groups/{g}/domains"), &json!({})).await, 400, "APIG.2001", Some("url_domain"));
    assert_error(&s.post(&format!("/api-groups/{}/domains", "0".repeat(32)), &json!({"url_domain": "n.example.com"})).await, 404, "APIG.3001", None);
    for i in 2..=5 {
        bind(&s, &g, &format!("d{i}.example.com")).await;
    }
    assert_error(&s.post(&format!("/api-groups/{g}/domains"), &json!({"url_domain": "d6.example.com"})).await, 403, "APIG.3108", None);

    // The certificate outlives a restart: its key is opened with the same secret key.
    let mut s = s;
    s.restart();
    let tls = client::connect(s.gateway_tls, Some("secure.example.com"), client::trusting(&ca.pem, &[])).await;
    assert!(tls.is_ok(), "after a restart: {:?}", tls.err());
}

#[tokio::test]
async fn request_protocols_over_each_scheme() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("schemes").await;
    let host = Server::group_host(&g);
    for (name, path, protocol) in [("only_http", "/http", "HTTP"), ("only_https", "/https", "HTTPS"), ("both_ways", "/both", "BOTH")] {
        s.create_and_publish(&mock_api(&g, name, path, protocol, protocol), RELEASE).await;
    }
    let backend = json!({
      "group_id": g, "name": "proxied", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/proxied",
      "auth_type": "NONE", "backend_type": "HTTP",
      "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/seen", "timeout": 3000}
    });
    s.create_and_publish(&backend, RELEASE).await;

    for (path, http_ok, https_ok, body) in [("/http", true, false, "HTTP"), ("/https", false, true, "HTTPS"), ("/both", true, true, "BOTH")] {
        let plain = s.eventually("GET", &host, path, &[], |c| c.status != 404).await;
        let tls = client::get(s.gateway_tls, &host, path, &[]).await;
        for (ok, status, text, json, scheme) in [(http_ok, plain.status, plain.body.clone(), plain.json(), "http"), (https_ok, tls.status, tls.body.clone(), tls.json(), "https")] {
            if ok {
                assert_eq!((status, text.as_str()), (200, body), "{path} over {scheme}");
            } else {
                assert_eq!(status, 400, "{path} over {scheme}: {text}");
                assert_eq!(json["error_code"], "APIG.0607");
                let wanted = if scheme == "http" { "HTTPS" } else { "HTTP" };
                assert!(json["error_msg"].as_str().unwrap().contains(wanted), "{text}");
            }
        }
    }
    // The backend learns the scheme the caller used.
    let plain = s.call_gateway("GET", &host, "/proxied", &[]).await;
    assert_eq!(echo::header(&plain.json(), "x-forwarded-proto"), Some("http"));
    let tls = client::get(s.gateway_tls, &host, "/proxied", &[]).await;
    assert_eq!(tls.status, 200, "{}", tls.body);
    assert_eq!(echo::header(&tls.json(), "x-forwarded-proto"), Some("https"));
    assert_eq!(echo::header(&tls.json(), "x-forwarded-port"), Some(s.gateway_tls.port().to_string().as_str()));
}

#[tokio::test]
async fn app_codes_work_over_https() {
    let s = Server::start().await;
    let g = s.group("coded").await;
    let host = Server::group_host(&g);
    let mut api = mock_api(&g, "coded_api", "/coded", "BOTH", "coded");
    api["auth_type"] = json!("APP");
    api["auth_opt"] = json!({"app_code_auth_type": "HEADER"});
    let api_id = s.create_and_publish(&api, RELEASE).await;
    let (_, app) = s.post("/apps", &json!({"name": "coded_app"})).await;
    let app_id = app["id"].as_str().unwrap();
    let (status, _) = s.post("/app-auths", &json!({"api_ids": [api_id], "app_ids": [app_id], "env_id": RELEASE})).await;
    assert_eq!(status, 201);
    let (_, code) = s.call("PUT", &format!("/apps/{app_id}/app-codes"), None).await;
    let code = code["app_code"].as_str().unwrap();

    let plain = s.eventually("GET", &host, "/coded", &[("X-Apig-AppCode", code)], |c| c.status != 404).await;
    assert_eq!(plain.status, 401, "{}", plain.body);
    assert!(plain.body.contains("requires HTTPS"), "{}", plain.body);
    let tls = client::get(s.gateway_tls, &host, "/coded", &[("X-Apig-AppCode", code)]).await;
    assert_eq!((tls.status, tls.body.as_str()), (200, "coded"));
}

#[tokio::test]
async fn bound_domains_can_redirect_plain_http_to_https() {
    let s = Server::start().await;
    let g = s.group("redirecting").await;
    s.create_and_publish(&mock_api(&g, "redir_api", "/r", "BOTH", "secure"), RELEASE).await;
    let ca = Ca::new("Redirect CA");
    let d = bind(&s, &g, "www.example.com").await;
    // Without a certificate there is nothing to redirect to.
    let refused = s.put(&format!("/api-groups/{g}/domains/{d}"), &json!({"is_http_redirect_to_https": true})).await;
    assert_error(&refused, 400, "APIG.2011", None);
    let plain = s.call_gateway("GET", "www.example.com", "/r?x=1", &[]).await;
    assert_eq!((plain.status, plain.body.as_str()), (200, "secure"), "the bound domain routes to its group over HTTP too");
    // Host names compare without case, for bound domains and the groups' own subdomains.
    for host in ["WWW.Example.COM".to_string(), Server::group_host(&g).to_uppercase()] {
        let c = s.call_gateway("GET", &host, "/r", &[]).await;
        assert_eq!((c.status, c.body.as_str()), (200, "secure"), "{host}");
    }

    let (chain, key, _) = ca.issue(&["www.example.com"], -1, 30);
    assert_eq!(upload(&s, &g, &d, "www_cert", &chain, &key).await.0, 201);
    let (status, body) = s.put(&format!("/api-groups/{g}/domains/{d}"), &json!({"is_http_redirect_to_https": true, "min_ssl_version": "TLSv1.2"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_http_redirect_to_https"], true);
    assert_eq!(body["min_ssl_version"], "TLSv1.2");

    let port = s.gateway_tls.port();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = http.get(format!("{}/r?x=1", s.gateway)).header("Host", "www.example.com").send().await.unwrap();
    assert_eq!(get.status().as_u16(), 301);
    assert_eq!(get.headers()["location"], format!("https://www.example.com:{port}/r?x=1").as_str());
    let post = http.post(format!("{}/r", s.gateway)).header("Host", "www.example.com").body("keep me").send().await.unwrap();
    assert_eq!(post.status().as_u16(), 308, "the method and body are kept");
    // The groups' own subdomains are not redirected; HTTPS is served.
    let sub = s.call_gateway("GET", &Server::group_host(&g), "/r", &[]).await;
    assert_eq!(sub.status, 200);
    let tls = client::connect(s.gateway_tls, Some("www.example.com"), client::trusting(&ca.pem, &[])).await.unwrap();
    let mut h1 = client::http1(tls).await;
    let a = answer(h1.send_request(request("GET", "www.example.com", "/r", &[])).await.unwrap()).await;
    assert_eq!((a.status, a.body.as_str()), (200, "secure"));
}

#[tokio::test]
async fn http2_by_alpn_with_many_concurrent_streams() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("multiplexed").await;
    let host = Server::group_host(&g);
    let api = json!({
      "group_id": g, "name": "h2_api", "type": 1, "req_protocol": "HTTPS", "req_method": "GET", "req_uri": "/items/{id}",
      "auth_type": "NONE", "backend_type": "HTTP",
      "req_params": [{"name": "id", "type": "STRING", "location": "PATH"}],
      "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/items/{id}", "timeout": 5000},
      "backend_params": [{"name": "id", "location": "PATH", "origin": "REQUEST", "value": "id"}]
    });
    s.create_and_publish(&api, RELEASE).await;

    let tls = client::connect(s.gateway_tls, Some(&host), client::any_cert(&[b"h2", b"http/1.1"])).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "the gateway chose HTTP/2");
    let h2 = client::http2(tls).await;
    let calls = (0..200).map(|i| {
        let mut h2 = h2.clone();
        let host = host.clone();
        tokio::spawn(async move {
            let res = h2.send_request(request2("GET", &host, &format!("/items/{i}"), &[])).await.unwrap();
            assert_eq!(res.version(), http::Version::HTTP_2);
            (i, answer(res).await)
        })
    });
    let mut ids = std::collections::HashSet::new();
    for call in calls {
        let (i, a) = call.await.unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.json()["path"], format!("/items/{i}"));
        assert_eq!(echo::header(&a.json(), "x-forwarded-proto"), Some("https"));
        ids.insert(a.headers["x-request-id"].to_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 200, "every stream is its own request");
}

fn https_api(group: &str, name: &str, path: &str, backend: Value) -> Value {
    let mut b = json!({"req_protocol": "HTTPS", "req_method": "GET", "req_uri": "/seen", "timeout": 3000});
    for (k, v) in backend.as_object().unwrap() {
        b[k] = v.clone();
    }
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": path,
      "auth_type": "NONE", "backend_type": "HTTP", "backend_api": b
    })
}

#[tokio::test]
async fn https_backends_are_verified_and_get_client_certificates_when_asked() {
    let ca = Ca::new("Backend CA");
    let (chain, key, _) = ca.issue(&["localhost", "backend.internal"], -1, 30);
    let open = Echo::start_tls(&chain, &key, None).await;
    let mutual = Echo::start_tls(&chain, &key, Some(&ca.pem)).await;
    let files = tempfile::tempdir().unwrap();
    let (client_chain, client_key, _) = ca.issue(&["gateway.internal"], -1, 30);
    for (name, text) in [("ca.pem", &ca.pem), ("client.pem", &client_chain), ("client.key", &client_key)] {
        std::fs::write(files.path().join(name), text).unwrap();
    }
    let path = |n: &str| files.path().join(n).display().to_string();
    let (ca_file, cert_file, key_file) = (path("ca.pem"), path("client.pem"), path("client.key"));
    let s = Server::start_with(common::Backend::Sqlite, &["--upstream-ca", &ca_file, "--upstream-client-cert", &cert_file, "--upstream-client-key", &key_file]).await;
    let g = s.group("secure_backends").await;
    let host = Server::group_host(&g);
    let port = |e: &Echo| e.addr.port();
    s.create_and_publish(&https_api(&g, "verified", "/verified", json!({"url_domain": format!("localhost:{}", port(&open))})), RELEASE).await;
    s.create_and_publish(&https_api(&g, "wrong_name", "/wrong-name", json!({"url_domain": format!("127.0.0.1:{}", port(&open))})), RELEASE).await;
    s.create_and_publish(&https_api(&g, "two_way", "/two-way", json!({"url_domain": format!("localhost:{}", port(&mutual)), "enable_client_ssl": true})), RELEASE).await;
    s.create_and_publish(&https_api(&g, "one_way", "/one-way", json!({"url_domain": format!("localhost:{}", port(&mutual))})), RELEASE).await;
    // A channel over HTTPS: members are checked over HTTPS, and verified by the proxy host's name.
    let health = json!({"protocol": "HTTPS", "path": "/health", "method": "GET", "threshold_normal": 2, "threshold_abnormal": 2, "time_out": 2, "time_interval": 5, "http_code": "200"});
    let (status, ch) = s.post("/vpc-channels", &json!({"name": "tls_members", "port": port(&open), "balance_strategy": 1, "vpc_health_config": health,
        "vpc_instances": [{"host": "127.0.0.1", "port": port(&open), "weight": 1}]})).await;
    assert_eq!(status, 201, "{ch}");
    let channel_backend = json!({"vpc_status": 1, "vpc_info": {"vpc_id": ch["id"], "vpc_proxy_host": "backend.internal"}});
    s.create_and_publish(&https_api(&g, "through_channel", "/channel", channel_backend), RELEASE).await;

    let ok = s.eventually("GET", &host, "/verified", &[], |c| c.status != 404).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["path"], "/seen");
    assert_eq!(ok.json()["client_cert"], false);
    // Connections are kept: the next call is served too.
    assert_eq!(s.call_gateway("GET", &host, "/verified", &[]).await.status, 200);

    let wrong = s.call_gateway("GET", &host, "/wrong-name", &[]).await;
    assert_eq!(wrong.status, 502, "{}", wrong.body);
    assert_eq!(wrong.json()["error_code"], "APIG.0202");

    let two_way = s.call_gateway("GET", &host, "/two-way", &[]).await;
    assert_eq!(two_way.status, 200, "{}", two_way.body);
    assert_eq!(two_way.json()["client_cert"], true);
    let one_way = s.call_gateway("GET", &host, "/one-way", &[]).await;
    assert_eq!(one_way.status, 502, "a backend that requires a client certificate refuses the gateway without one: {}", one_way.body);

    let through = s.call_gateway("GET", &host, "/channel", &[]).await;
    assert_eq!(through.status, 200, "{}", through.body);
    assert_eq!(echo::header(&through.json(), "host"), Some("backend.internal"));
    // Functions served by another platform over https:// are verified the same way.
    let (status, f) = s.post("/functions", &json!({"name": "remote_tls", "runtime": "http", "url": format!("https://localhost:{}/invoke", port(&open)), "response_mode": "passthrough"})).await;
    assert_eq!(status, 201, "{f}");
    let function_api = json!({
      "group_id": g, "name": "remote_fn", "type": 1, "req_protocol": "BOTH", "req_method": "ANY", "req_uri": "/fn",
      "auth_type": "NONE", "backend_type": "FUNCTION", "func_info": {"function_urn": f["urn"], "invocation_type": "sync", "timeout": 2000}
    });
    s.create_and_publish(&function_api, RELEASE).await;
    let called = s.call_gateway("GET", &host, "/fn", &[]).await;
    assert_eq!(called.status, 200, "{}", called.body);
    assert_eq!((called.json()["method"].as_str(), called.json()["path"].as_str()), (Some("POST"), Some("/invoke")));

    // The same member checked over plain HTTP fails (it speaks TLS), which shows the checks run;
    // the HTTPS checks, run alongside, keep it healthy.
    let plain_health = json!({"protocol": "HTTP", "path": "/health", "method": "GET", "threshold_normal": 2, "threshold_abnormal": 2, "time_out": 2, "time_interval": 5, "http_code": "200"});
    let (status, wrong) = s.post("/vpc-channels", &json!({"name": "plain_checks", "port": port(&open), "balance_strategy": 1, "vpc_health_config": plain_health,
        "vpc_instances": [{"host": "127.0.0.1", "port": port(&open), "weight": 1}]})).await;
    assert_eq!(status, 201, "{wrong}");
    let health_of = |id: &Value| {
        let (s, id) = (&s, id.as_str().unwrap().to_string());
        async move { s.get(&format!("/vpc-channels/{id}/members")).await.1["members"][0]["health_status"].clone() }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while health_of(&wrong["id"]).await != "unhealthy" {
        assert!(std::time::Instant::now() < deadline, "the plain HTTP check of a TLS member never failed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(health_of(&ch["id"]).await, "healthy");

    // Without the operator's CA the same backend is not trusted.
    let plain = Server::start().await;
    let g = plain.group("untrusted").await;
    plain.create_and_publish(&https_api(&g, "untrusted", "/u", json!({"url_domain": format!("localhost:{}", port(&open))})), RELEASE).await;
    let refused = plain.eventually("GET", &Server::group_host(&g), "/u", &[], |c| c.status != 404).await;
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert_eq!(refused.json()["error_code"], "APIG.0202");
    assert!(refused.json()["error_msg"].as_str().unwrap().contains("UnknownIssuer"), "{}", refused.body);
}
