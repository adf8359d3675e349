#!/usr/bin/env python3
"""Runs the scenarios and prints the table. Called by bench/run.sh.

Layout on a 2-core machine: the proxy under test (nginx or Causeway, one
worker) is pinned to CPU 0; the load generator and the backend share CPU 1.
CPU per request is the proxy process's user+system time over the requests it
served, the median of ROUNDS runs (nginx and Causeway take turns); latency percentiles come from a fixed request rate; instruction
counts come from callgrind (counted after a warm-up on the thread serving the
requests, so neither start-up nor background tasks are counted).
"""

import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAUSEWAY = os.path.join(ROOT, "target", "release", "causeway")
DURATION = int(os.environ.get("DURATION", "10"))
CONNS = int(os.environ.get("CONNS", "32"))
RATE = int(os.environ.get("RATE", "2000"))
CALLGRIND = os.environ.get("CALLGRIND", "1") != "0"
APIS = int(os.environ.get("APIS", "10000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
TOKEN = "bench-admin-token-0123456789"
PROXY_CPU, LOAD_CPU = "0", "1"
TICK = os.sysconf("SC_CLK_TCK")
BACKEND_PORT, NGINX_PORT, CW_PORT, CW_ADMIN = 18081, 18082, 18083, 19183
# HTTPS (HTTP/1.1 and HTTP/2 by ALPN), both on Causeway's self-signed certificate.
NGINX_TLS_PORT, CW_TLS_PORT = 18442, 18443
H2_STREAMS = int(os.environ.get("H2_STREAMS", "8"))
# Two more ports of the same backend: the members of a 3-member load-balance channel.
MEMBER_PORTS = (BACKEND_PORT, 18084, 18085)
SPRAY = int(os.environ.get("SPRAY", "1000000"))
# Idle and slow-header connections held open during a 1-API run (half each).
HOSTILE = int(os.environ.get("HOSTILE", "1000"))

work = tempfile.mkdtemp(prefix="causeway-bench-")
procs = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def start(cmd, cpu, env=None, **kw):
    p = subprocess.Popen(["taskset", "-c", cpu] + cmd, env=env, **kw)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def nginx_conf(name, body):
    path = os.path.join(work, name)
    os.makedirs(os.path.join(path, "logs"), exist_ok=True)
    conf = os.path.join(path, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1;
daemon off;
master_process off;
error_log {path}/logs/error.log crit;
pid {path}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {path}/body; proxy_temp_path {path}/proxy; fastcgi_temp_path {path}/fcgi;
  uwsgi_temp_path {path}/uwsgi; scgi_temp_path {path}/scgi;
  {body}
}}
""")
    return conf


def wrk(port, host, seconds, script=None, path="/hello", headers=(), scheme="http"):
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s", "-H", f"Host: {host}"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(f"{scheme}://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return requests, int(bad.group(1)) if bad else 0, errors.group(1) if errors else ""


def h2load(port, host, seconds, path="/hello"):
    """HTTP/2 over TLS (ALPN h2): CONNS connections with H2_STREAMS streams each."""
    cmd = ["taskset", "-c", LOAD_CPU, "h2load", "-t1", f"-c{CONNS}", f"-m{H2_STREAMS}", "-D", str(seconds),
           "-H", f":authority: {host}", f"https://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    if not done:
        raise SystemExit(f"h2load: {out}")
    status = re.search(r"status codes: (\d+) 2xx", out)
    bad = int(done.group(1)) - (int(status.group(1)) if status else 0)
    return int(done.group(1)), bad, "" if done.group(3) == "0" and done.group(4) == "0" else f"{done.group(3)} failed, {done.group(4)} errored"


def measure_cpu(pid, port, host, script=None, path="/hello", headers=(), scheme="http"):
    # Warm up first: connections to the backend, caches, allocator.
    load = (lambda s: h2load(port, host, s, path)) if scheme == "h2" else (lambda s: wrk(port, host, s, script, path, headers, scheme))
    load(2)
    before = cpu_seconds(pid)
    requests, bad, errors = load(DURATION)
    used = cpu_seconds(pid) - before
    if bad or errors:
        log(f"  warning: {bad} non-2xx responses, socket errors: {errors}")
    return used * 1e6 / requests, requests / DURATION


def latency(port, host, path="/hello", headers=(), scheme="http"):
    workers = 10
    extra = [a for h in headers for a in ("-H", h)]
    if scheme == "h2":
        extra.append("-h2")
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "hey", "-z", f"{DURATION}s", "-c", str(workers), "-q", str(RATE // workers),
         "-host", host] + extra + [f"{'http' if scheme == 'http' else 'https'}://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True).stdout
    p50 = float(re.search(r"50% in ([\d.]+) secs", out).group(1)) * 1000
    p99 = float(re.search(r"99% in ([\d.]+) secs", out).group(1)) * 1000
    return p50, p99


def api(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{CW_ADMIN}/v1.0/apigw{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"X-Auth-Token": TOKEN})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def http_api(group, name, path, mode="NORMAL", params=None):
    body = {"group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path,
            "match_mode": mode, "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"url_domain": f"127.0.0.1:{BACKEND_PORT}", "req_protocol": "HTTP", "req_method": "GET",
                            "req_uri": "/hello", "timeout": 5000}}
    if params:
        body["req_params"] = params
    return body


def publish_many(group, n):
    """Publishes n APIs to RELEASE (a third exact paths, a third templates, a third SWA prefixes); their paths."""
    paths = []
    ids = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            body, path = http_api(group, f"exact{i}", f"/e{i}/items"), f"/e{i}/items"
        elif kind == 1:
            body = http_api(group, f"tmpl{i}", f"/t{i}/items/{{id}}",
                            params=[{"name": "id", "type": "STRING", "location": "PATH"}])
            path = f"/t{i}/items/42"
        else:
            body, path = http_api(group, f"pref{i}", f"/p{i}", mode="SWA"), f"/p{i}/a/b"
        ids.append(api("POST", "/apis", body)["id"])
        paths.append(path)
    for start_i in range(0, len(ids), 1000):
        r = api("POST", "/apis/publish?action=online", {"apis": ids[start_i:start_i + 1000], "env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
        assert not r["failure"], r["failure"][:3]
    return paths


def sdk_sign(method, host, path, key, secret):
    """SDK-HMAC-SHA256 headers for a bodiless request (valid for 15 minutes)."""
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    canonical = "\n".join([method, path if path.endswith("/") else path + "/", "",
                           f"host:{host}\nx-sdk-date:{date}\n", "host;x-sdk-date", hashlib.sha256(b"").hexdigest()])
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    sig = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return [f"X-Sdk-Date: {date}", f"Authorization: SDK-HMAC-SHA256 Access={key}, SignedHeaders=host;x-sdk-date, Signature={sig}"]


# A 20-line handler: reads the event, builds a JSON body.
FUNCTION_CODE = """
exports.handler = async (event, context) => {
  const query = event.queryStringParameters || {};
  const name = query.name || 'world';
  const items = [];
  for (let i = 0; i < 3; i++) {
    items.push({ id: i, label: `${name}-${i}` });
  }
  const headers = event.headers || {};
  const body = {
    greeting: `hello ${name}`,
    method: event.httpMethod,
    path: event.path,
    agent: headers['user-agent'] || null,
    requestId: context.getRequestID(),
    items,
  };
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
};
"""

# Each request from another client address, starting at the offset given after `--`.
SPRAY_SCRIPT = """
local base, i = 0, 0
init = function(args) base = tonumber(args[1]) or 0 end
request = function()
  local n = base + i
  i = i + 1
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", "/sprayed", {["Host"] = "HOST", ["X-Forwarded-For"] = ip})
end
"""

AUTHORIZER_CODE = """
exports.handler = async (event) => {
  const token = event.headers['x-token'] || '';
  const allow = token.startsWith('good-');
  return { statusCode: 200, body: JSON.stringify({ status: allow ? 'allow' : 'deny', context: { user: token.slice(5) } }) };
};
"""


def config_file():
    """More APIs per group than the default quota of 1000."""
    path = os.path.join(work, "causeway.toml")
    with open(path, "w") as f:
        f.write(f"[limits]\napis_per_group = {APIS + 1000}\n")
    return path


def start_causeway(data, cmd_prefix=None, cpu=PROXY_CPU):
    env = dict(os.environ, CAUSEWAY_ADMIN_TOKEN=TOKEN, CAUSEWAY_LOG="warn")
    # Load generators connect by address, without a server name: given the default certificate.
    args = [CAUSEWAY, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{CW_PORT}",
            "--listen-tls", f"127.0.0.1:{CW_TLS_PORT}", "--tls-default-without-sni",
            "--admin-listen", f"127.0.0.1:{CW_ADMIN}", "--workers", "1", "--function-workers", "1", "--access-log", "off",
            "--real-ip-from-xff=-1", "--max-connections", str(HOSTILE + 4 * CONNS + 512), "--config", config_file()]
    p = start((cmd_prefix or []) + args, cpu, env=env, stdout=subprocess.DEVNULL)
    wait_port(CW_ADMIN, 120)
    wait_port(CW_PORT, 120)
    return p


def hold_connections(port, n):
    """n connections to port: every other one idle, the rest stopped halfway through a request head."""
    held = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if i % 2:
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nUser-Agent: slow")
        held.append(s)
    return held


def thread_instructions(pid):
    """Instructions each thread of a process under callgrind ran since its counters were zeroed."""
    out = subprocess.run(["callgrind_control", "-e", "Ir", str(pid)], capture_output=True, text=True, check=True).stdout
    return [int(m.group(1).replace(",", "")) for m in re.finditer(r"^\s*Th\s*\d+\s+([\d,]+)\s*$", out, re.M)]


def callgrind_per_request(cmd, windows, n=3000, warm=300, ready=None):
    """Instructions per request for each window `(port, host, path, headers, scheme)`, counted
    by callgrind in one process: after `warm` requests the counters are zeroed, `n` requests
    are sent, and the busiest thread's count is divided by n. Start-up (whose cost varies
    with hash seeds) and the threads of background tasks are not counted."""
    out = os.path.join(work, f"cg-{random.randint(0, 1 << 30)}.out")
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, CAUSEWAY_ADMIN_TOKEN=TOKEN, CAUSEWAY_LOG="warn"))
    try:
        wait_port(windows[0][0], 300)
        if ready:
            ready()
        counts = []
        for port, host, path, headers, scheme in windows:
            send = lambda count: subprocess.run(["hey", "-n", str(count), "-c", "4", "-host", host] + [a for h in headers for a in ("-H", h)]
                                                + [f"{scheme}://127.0.0.1:{port}{path}"], capture_output=True, check=True)
            send(warm)
            subprocess.run(["callgrind_control", "-z", str(p.pid)], capture_output=True, check=True)
            send(n)
            counts.append(max(thread_instructions(p.pid)) / n)
        return counts
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(120)


def main():
    results = {}
    # Room for the held connections (and Causeway inherits it).
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # The tiny backend: 12 bytes.
    backend_conf = nginx_conf("backend", f"""
  server {{ {" ".join(f"listen 127.0.0.1:{p} backlog=4096;" for p in MEMBER_PORTS)} location / {{ return 200 "hello world\\n"; }} }}""")
    backend = start(["nginx", "-c", backend_conf], LOAD_CPU)
    wait_port(BACKEND_PORT)

    log("direct backend ...")
    pid = backend.pid
    results["direct backend"] = measure_cpu(pid, BACKEND_PORT, "backend") + latency(BACKEND_PORT, "backend") + (rss_mb(pid),)

    data = os.path.join(work, "causeway-data")
    cw = start_causeway(data)
    # nginx serves HTTPS with the certificate Causeway made on its first start.
    cert, key = os.path.join(data, "tls", "default.crt"), os.path.join(data, "tls", "default.key")
    proxy_conf = nginx_conf("proxy", f"""
  upstream backend {{ server 127.0.0.1:{BACKEND_PORT}; keepalive 64; keepalive_requests 1000000; }}
  server {{ listen 127.0.0.1:{NGINX_PORT} backlog=4096; listen 127.0.0.1:{NGINX_TLS_PORT} ssl http2 backlog=4096;
    ssl_certificate {cert}; ssl_certificate_key {key};
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}""")
    log("nginx proxy_pass ...")
    nginx = start(["nginx", "-c", proxy_conf], PROXY_CPU)
    wait_port(NGINX_PORT)
    wait_port(NGINX_TLS_PORT)
    group = api("POST", "/api-groups", {"name": "bench"})["id"]
    host = f"{group}.apigw.localhost"
    one = api("POST", "/apis", http_api(group, "hello", "/hello"))
    api("POST", f"/apis/publish/{one['id']}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
    # The same API callable over HTTPS too (HTTP/1.1 or HTTP/2), in front of the same plain backend.
    secure = dict(http_api(group, "secure", "/secure"), req_protocol="BOTH")
    secure_id = api("POST", "/apis", secure)["id"]
    api("POST", f"/apis/publish/{secure_id}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
    mock = {"group_id": group, "name": "mocked", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/mock",
            "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "hello world\n"}}
    mock_id = api("POST", "/apis", mock)["id"]
    api("POST", f"/apis/publish/{mock_id}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})

    # nginx and Causeway take turns, and each figure is the median of its
    # rounds: on a shared machine the CPU available drifts within a run.
    # An APP API in front of the same backend, called with an SDK-HMAC-SHA256
    # signature (the same signed request replayed: each one is verified anew).
    signed = http_api(group, "signed", "/signed")
    signed["auth_type"] = "APP"
    signed_id = api("POST", "/apis", signed)["id"]
    api("POST", f"/apis/publish/{signed_id}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
    app = api("POST", "/apps", {"name": "bench_app"})
    api("POST", "/app-auths", {"api_ids": [signed_id], "app_ids": [app["id"]], "env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})

    # A FUNCTION API: the gateway and its one function worker share the proxy's core.
    fn = api("POST", "/functions", {"name": "bench_fn", "code": FUNCTION_CODE})
    fn_api = {"group_id": group, "name": "function", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/fn",
              "auth_type": "NONE", "backend_type": "FUNCTION",
              "func_info": {"function_urn": fn["urn"], "invocation_type": "sync", "timeout": 5000}}
    fn_api_id = api("POST", "/apis", fn_api)["id"]
    api("POST", f"/apis/publish/{fn_api_id}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})

    # A MOCK API behind a frontend custom authorizer whose answers are cached
    # (ttl 60 s, keyed by X-Token): the usual setup, so most requests are cache hits.
    gate = api("POST", "/functions", {"name": "bench_gate", "code": AUTHORIZER_CODE})
    gate_auth = api("POST", "/authorizers", {"name": "bench_gate", "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": gate["urn"],
                                             "ttl": 60, "identities": [{"name": "X-Token", "location": "HEADER"}]})
    guarded = dict(mock, name="guarded", req_uri="/guarded", auth_type="AUTHORIZER", authorizer_id=gate_auth["id"])
    guarded_id = api("POST", "/apis", guarded)["id"]
    api("POST", f"/apis/publish/{guarded_id}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
    token = ["X-Token: good-bench"]

    # The same HTTP API with policies bound: throttling per API and per client
    # address (limits far above the load) and an access-control allow list.
    policed = api("POST", "/apis", http_api(group, "policed", "/policed"))["id"]
    policed_pub = api("POST", f"/apis/publish/{policed}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})["publish_id"]
    limit = api("POST", "/throttles", {"name": "bench_limit", "api_call_limits": 1000000000, "ip_call_limits": 1000000000,
                                       "time_interval": 1, "time_unit": "SECOND"})
    api("POST", "/throttle-bindings", {"strategy_id": limit["id"], "publish_ids": [policed_pub]})
    allow = api("POST", "/acls", {"acl_name": "bench_allow", "acl_type": "PERMIT", "entity_type": "IP", "acl_value": "127.0.0.0/8,10.0.0.0/8"})
    api("POST", "/acl-bindings", {"acl_id": allow["id"], "publish_ids": [policed_pub]})

    # The full stack: an APP API (signed calls) with a throttling policy (API,
    # app and address limits far above the load) over a 3-member channel with
    # a TCP health check.
    channel = api("POST", "/vpc-channels", {"name": "bench-members", "type": 2, "port": BACKEND_PORT, "balance_strategy": 1,
                                            "vpc_health_config": {"protocol": "TCP", "time_interval": 10, "time_out": 3},
                                            "vpc_instances": [{"host": "127.0.0.1", "port": p, "weight": 1} for p in MEMBER_PORTS]})
    stacked = http_api(group, "stacked", "/stacked")
    stacked["auth_type"] = "APP"
    stacked["backend_api"] = dict(stacked["backend_api"], vpc_status=1, vpc_info={"vpc_id": channel["id"]})
    del stacked["backend_api"]["url_domain"]
    stacked_id = api("POST", "/apis", stacked)["id"]
    stacked_pub = api("POST", f"/apis/publish/{stacked_id}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})["publish_id"]
    api("POST", "/app-auths", {"api_ids": [stacked_id], "app_ids": [app["id"]], "env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
    stack_limit = api("POST", "/throttles", {"name": "bench_stack", "api_call_limits": 1000000000, "app_call_limits": 1000000000,
                                             "ip_call_limits": 1000000000, "time_interval": 1, "time_unit": "SECOND"})
    api("POST", "/throttle-bindings", {"strategy_id": stack_limit["id"], "publish_ids": [stacked_pub]})

    cpu = {"nginx proxy_pass": [], "causeway 1 API": [], "nginx HTTPS": [], "causeway HTTPS": [], "nginx HTTP/2": [], "causeway HTTP/2": [],
           "causeway MOCK": [], "causeway APP signed": [], "causeway FUNCTION": [],
           "causeway AUTHORIZER": [], "causeway THROTTLE+ACL": [], "causeway APP+THROTTLE+LB3": []}
    for r in range(ROUNDS):
        log(f"round {r + 1}/{ROUNDS}: nginx proxy_pass, causeway FUNCTION, causeway MOCK, causeway AUTHORIZER, causeway 1 API, causeway THROTTLE+ACL, causeway APP signed, causeway APP+THROTTLE+LB3 ...")
        cpu["nginx proxy_pass"].append(measure_cpu(nginx.pid, NGINX_PORT, "x"))
        cpu["nginx HTTPS"].append(measure_cpu(nginx.pid, NGINX_TLS_PORT, "x", scheme="https"))
        cpu["causeway HTTPS"].append(measure_cpu(cw.pid, CW_TLS_PORT, host, path="/secure", scheme="https"))
        cpu["nginx HTTP/2"].append(measure_cpu(nginx.pid, NGINX_TLS_PORT, "x", scheme="h2"))
        cpu["causeway HTTP/2"].append(measure_cpu(cw.pid, CW_TLS_PORT, host, path="/secure", scheme="h2"))
        cpu["causeway FUNCTION"].append(measure_cpu(cw.pid, CW_PORT, host, path="/fn?name=bench"))
        cpu["causeway MOCK"].append(measure_cpu(cw.pid, CW_PORT, host, path="/mock"))
        cpu["causeway AUTHORIZER"].append(measure_cpu(cw.pid, CW_PORT, host, path="/guarded", headers=token))
        cpu["causeway 1 API"].append(measure_cpu(cw.pid, CW_PORT, host))
        cpu["causeway THROTTLE+ACL"].append(measure_cpu(cw.pid, CW_PORT, host, path="/policed"))
        signature = sdk_sign("GET", host, "/signed", app["app_key"], app["app_secret"])
        cpu["causeway APP signed"].append(measure_cpu(cw.pid, CW_PORT, host, path="/signed", headers=signature))
        stacked_signature = sdk_sign("GET", host, "/stacked", app["app_key"], app["app_secret"])
        cpu["causeway APP+THROTTLE+LB3"].append(measure_cpu(cw.pid, CW_PORT, host, path="/stacked", headers=stacked_signature))
    for name, runs in cpu.items():
        log(f"  {name}: " + ", ".join(f"{us:.2f}" for us, _ in runs) + " us/req")
    median = lambda runs: sorted(runs)[len(runs) // 2]
    results["nginx proxy_pass"] = median(cpu["nginx proxy_pass"]) + latency(NGINX_PORT, "x") + (rss_mb(nginx.pid),)
    results["causeway 1 API"] = median(cpu["causeway 1 API"]) + latency(CW_PORT, host) + (rss_mb(cw.pid),)
    results["nginx HTTPS"] = median(cpu["nginx HTTPS"]) + latency(NGINX_TLS_PORT, "x", scheme="https") + (rss_mb(nginx.pid),)
    results["causeway HTTPS"] = median(cpu["causeway HTTPS"]) + latency(CW_TLS_PORT, host, "/secure", scheme="https") + (rss_mb(cw.pid),)
    results["nginx HTTP/2"] = median(cpu["nginx HTTP/2"]) + latency(NGINX_TLS_PORT, "x", scheme="h2") + (rss_mb(nginx.pid),)
    results["causeway HTTP/2"] = median(cpu["causeway HTTP/2"]) + latency(CW_TLS_PORT, host, "/secure", scheme="h2") + (rss_mb(cw.pid),)
    results["causeway MOCK"] = median(cpu["causeway MOCK"]) + latency(CW_PORT, host, "/mock") + (rss_mb(cw.pid),)
    results["causeway FUNCTION"] = median(cpu["causeway FUNCTION"]) + latency(CW_PORT, host, "/fn?name=bench") + (rss_mb(cw.pid),)
    results["causeway THROTTLE+ACL"] = median(cpu["causeway THROTTLE+ACL"]) + latency(CW_PORT, host, "/policed") + (rss_mb(cw.pid),)
    results["causeway AUTHORIZER"] = median(cpu["causeway AUTHORIZER"]) + latency(CW_PORT, host, "/guarded", token) + (rss_mb(cw.pid),)
    results["causeway APP signed"] = median(cpu["causeway APP signed"]) + latency(CW_PORT, host, "/signed", sdk_sign("GET", host, "/signed", app["app_key"], app["app_secret"])) + (rss_mb(cw.pid),)
    results["causeway APP+THROTTLE+LB3"] = median(cpu["causeway APP+THROTTLE+LB3"]) + latency(CW_PORT, host, "/stacked", sdk_sign("GET", host, "/stacked", app["app_key"], app["app_secret"])) + (rss_mb(cw.pid),)

    # Hostile clients: HOSTILE connections held open (idle, or stopped in the
    # middle of a request head) while the 1-API load runs, paired with a run
    # without them just before; within the header timeout, so they stay open.
    log(f"{HOSTILE} idle and slow connections held during the 1-API load ...")
    hostile_pairs = []
    hostile_rss = []
    for r in range(ROUNDS):
        plain = measure_cpu(cw.pid, CW_PORT, host)
        rss_plain = rss_mb(cw.pid)
        held = hold_connections(CW_PORT, HOSTILE)
        time.sleep(0.5)
        hostile = measure_cpu(cw.pid, CW_PORT, host)
        hostile_rss.append((rss_plain, rss_mb(cw.pid)))
        for c in held:
            c.close()
        hostile_pairs.append((hostile[1] / plain[1], hostile[0] / plain[0]))
        log(f"  round {r + 1}: {plain[1]:.0f} req/s without, {hostile[1]:.0f} with; RSS {rss_plain:.1f} -> {rss_mb(cw.pid):.1f} MB")

    # Memory while SPRAY distinct client addresses (X-Forwarded-For, trusted)
    # call an API limited per address: the throttling counters must not grow it.
    log(f"{SPRAY} distinct source addresses on an address-limited API ...")
    sprayed = api("POST", "/apis", http_api(group, "sprayed", "/sprayed"))["id"]
    sprayed_pub = api("POST", f"/apis/publish/{sprayed}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})["publish_id"]
    per_ip = api("POST", "/throttles", {"name": "bench_per_ip", "api_call_limits": 1000000000, "ip_call_limits": 10,
                                        "time_interval": 1, "time_unit": "MINUTE"})
    api("POST", "/throttle-bindings", {"strategy_id": per_ip["id"], "publish_ids": [sprayed_pub]})
    spray_script = os.path.join(work, "spray.lua")
    with open(spray_script, "w") as f:
        f.write(SPRAY_SCRIPT.replace("HOST", host))
    wrk(CW_PORT, host, 2, path="/sprayed")
    spray_rss = [(0, rss_mb(cw.pid))]
    sent = 0
    while sent < SPRAY:
        cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNS}", "-d5s", "-s", spray_script,
               f"http://127.0.0.1:{CW_PORT}/sprayed", "--", str(sent)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        done = int(re.search(r"(\d+) requests in", out).group(1))
        refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if refused:
            log(f"  warning: {refused.group(1)} calls refused")
        sent += done
        spray_rss.append((sent, rss_mb(cw.pid)))
    log("  RSS MB by addresses seen: " + ", ".join(f"{n}: {m:.1f}" for n, m in spray_rss))

    # Zero failed requests while other APIs are published and taken offline under load.
    log("publish and offline under load ...")
    churn = []
    for i in range(20):
        churn.append(api("POST", "/apis", http_api(group, f"churn{i}", f"/churn/{i}"))["id"])
    loader = subprocess.Popen(["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNS}", f"-d{DURATION}s", "-H", f"Host: {host}",
                               f"http://127.0.0.1:{CW_PORT}/hello"], stdout=subprocess.PIPE, text=True)
    cycles = 0
    deadline = time.time() + DURATION - 1
    while time.time() < deadline:
        for i in churn:
            api("POST", f"/apis/publish/{i}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
        for i in churn:
            api("DELETE", f"/apis/publish/{i}?env_id=DEFAULT_ENVIRONMENT_RELEASE_ID")
        cycles += 1
    out = loader.communicate()[0]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    churn_requests = int(re.search(r"(\d+) requests in", out).group(1))
    churn_failed = (int(bad.group(1)) if bad else 0)
    churn_errors = errs.group(1) if errs else "none"

    # 10,000 published APIs: exact, template and prefix mixed; requests spread over them.
    log(f"loading {APIS} APIs ...")
    paths = publish_many(group, APIS)
    script = os.path.join(work, "spread.lua")
    with open(script, "w") as f:
        f.write("local paths = {\n" + ",\n".join(json.dumps(p) for p in paths) + "\n}\n")
        f.write("local i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n")
    log(f"causeway, {APIS} APIs ...")
    many = [measure_cpu(cw.pid, CW_PORT, host, script=script) for _ in range(ROUNDS)]
    log(f"  causeway {APIS} APIs: " + ", ".join(f"{us:.2f}" for us, _ in many) + " us/req")
    results[f"causeway {APIS} APIs"] = median(many) + latency(CW_PORT, host, paths[len(paths) // 2]) + (rss_mb(cw.pid),)

    # Publish -> callable, with everything loaded: a publish answers once the gateway serves it.
    log("publish -> callable ...")
    delays = []
    for i in range(40):
        new = api("POST", "/apis", http_api(group, f"fresh{i}", f"/fresh/{i}"))["id"]
        t0 = time.perf_counter()
        api("POST", f"/apis/publish/{new}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
        req = urllib.request.Request(f"http://127.0.0.1:{CW_PORT}/fresh/{i}", headers={"Host": host})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        delays.append((time.perf_counter() - t0) * 1000)
    delays.sort()
    stop(cw)

    # The measured nginx must be gone before its callgrind twin binds the same port.
    stop(nginx)
    cg = {}
    if CALLGRIND:
        log("callgrind (instructions per request) ...")
        nginx_instr = callgrind_per_request(lambda: ["nginx", "-c", proxy_conf],
                                            [(NGINX_PORT, "x", "/hello", (), "http"), (NGINX_TLS_PORT, "x", "/hello", (), "https")])
        cg["nginx proxy_pass"], cg["nginx HTTPS"] = nginx_instr
        data2 = os.path.join(work, "causeway-cg")
        shutil.copytree(data, data2)
        def cw_cmd():
            # No store polling while counting: only requests run.
            return [CAUSEWAY, "serve", "--data-dir", data2, "--listen", f"127.0.0.1:{CW_PORT}", "--listen-tls", f"127.0.0.1:{CW_TLS_PORT}",
                    "--admin-listen", f"127.0.0.1:{CW_ADMIN}", "--workers", "1", "--watch-interval", "3600000",
                    "--access-log", "off", "--tls-default-without-sni", "--config", config_file()]
        signature = sdk_sign("GET", host, "/signed", app["app_key"], app["app_secret"])
        scenarios = {"causeway 1 API": "/hello", "causeway MOCK": "/mock", "causeway HTTPS": "/secure",
                     "causeway APP signed": "/signed", f"causeway {APIS} APIs": paths[len(paths) // 2]}
        windows = [(CW_TLS_PORT if name.endswith("HTTPS") else CW_PORT, host, path, signature if "APP" in name else (),
                    "https" if name.endswith("HTTPS") else "http") for name, path in scenarios.items()]
        cg.update(zip(scenarios, callgrind_per_request(cw_cmd, windows, ready=lambda: wait_port(CW_ADMIN, 300))))
    stop(backend)

    base = results["nginx proxy_pass"]
    print()
    print(f"Causeway data-plane benchmark ({DURATION}s runs, {CONNS} connections for CPU, {RATE} req/s for latency)")
    print(f"{'scenario':<24}{'req/s':>10}{'CPU us/req':>12}{'x nginx':>9}{'p50 ms':>9}{'p99 ms':>9}{'x nginx':>9}{'RSS MB':>9}{'x nginx':>9}{'instr/req':>11}{'x nginx':>9}")
    for name, (us, rps, p50, p99, rss) in results.items():
        instr = cg.get(name)
        base_instr = cg.get("nginx proxy_pass")
        print(f"{name:<24}{rps:>10.0f}{us:>12.2f}{us / base[0]:>9.2f}{p50:>9.3f}{p99:>9.3f}{p99 / base[3]:>9.2f}{rss:>9.1f}{rss / base[4]:>9.2f}"
              + (f"{instr:>11.0f}{instr / base_instr:>9.2f}" if instr and base_instr else f"{'-':>11}{'-':>9}"))
    if cg.get("causeway HTTPS") and cg.get("nginx HTTPS"):
        print(f"HTTPS instructions per request: causeway {cg['causeway HTTPS']:.0f}, nginx {cg['nginx HTTPS']:.0f} ({cg['causeway HTTPS'] / cg['nginx HTTPS']:.2f}x)")
    one_api = results["causeway 1 API"][0]
    many = results[f"causeway {APIS} APIs"][0]
    print()
    for proto in ("HTTPS", "HTTP/2"):
        pairs = sorted(c[0] / n[0] for c, n in zip(cpu[f"causeway {proto}"], cpu[f"nginx {proto}"]))
        print(f"{proto} (TLS, same certificate; {'keep-alive HTTP/1.1' if proto == 'HTTPS' else f'{H2_STREAMS} streams per connection'}) vs nginx {proto}, CPU per request: "
              f"{results[f'causeway {proto}'][0] / results[f'nginx {proto}'][0]:.2f}x of the medians, "
              f"{pairs[len(pairs) // 2]:.2f}x median of the back-to-back pairs ({', '.join(f'{r:.2f}' for r in pairs)})")
    print(f"{APIS} APIs vs 1 API, CPU per request: {many / one_api:.2f}x")
    # Measured back to back in each round, so the ratio of each pair cancels the machine's drift.
    paired = sorted(s[0] / o[0] for s, o in zip(cpu["causeway APP signed"], cpu["causeway 1 API"]))
    print(f"APP signed vs 1 API, CPU per request: {results['causeway APP signed'][0] / one_api:.2f}x of the medians, "
          f"{paired[len(paired) // 2]:.2f}x median of the {len(paired)} back-to-back pairs ({', '.join(f'{r:.2f}' for r in paired)})")
    fn_paired = sorted(f[0] / m[0] for f, m in zip(cpu["causeway FUNCTION"], cpu["causeway MOCK"]))
    print(f"FUNCTION (20-line handler) vs MOCK, CPU per request: {results['causeway FUNCTION'][0] / results['causeway MOCK'][0]:.2f}x of the medians, "
          f"{fn_paired[len(fn_paired) // 2]:.2f}x median of the back-to-back pairs; "
          f"{results['causeway FUNCTION'][1]:.0f} invocations/s with gateway and function worker on one core")
    policed_paired = sorted(p[0] / o[0] for p, o in zip(cpu["causeway THROTTLE+ACL"], cpu["causeway 1 API"]))
    print(f"THROTTLE+ACL vs 1 API, CPU per request: {results['causeway THROTTLE+ACL'][0] / one_api:.2f}x of the medians, "
          f"{policed_paired[len(policed_paired) // 2]:.2f}x median of the back-to-back pairs")
    auth_paired = sorted(a[0] / m[0] for a, m in zip(cpu["causeway AUTHORIZER"], cpu["causeway MOCK"]))
    print(f"AUTHORIZER (cached answers) vs MOCK, CPU per request: {results['causeway AUTHORIZER'][0] / results['causeway MOCK'][0]:.2f}x of the medians, "
          f"{auth_paired[len(auth_paired) // 2]:.2f}x median of the back-to-back pairs")
    stack_paired = sorted(p[0] / o[0] for p, o in zip(cpu["causeway APP+THROTTLE+LB3"], cpu["causeway 1 API"]))
    print(f"APP+THROTTLE+LB3 (signed calls, throttling, 3-member channel) vs 1 API, CPU per request: "
          f"{results['causeway APP+THROTTLE+LB3'][0] / one_api:.2f}x of the medians, "
          f"{stack_paired[len(stack_paired) // 2]:.2f}x median of the back-to-back pairs ({', '.join(f'{r:.2f}' for r in stack_paired)})")
    print(f"RSS while {spray_rss[-1][0]} distinct addresses called an address-limited API: {spray_rss[0][1]:.1f} MB before, "
          f"{spray_rss[len(spray_rss) // 2][1]:.1f} MB at {spray_rss[len(spray_rss) // 2][0]}, {spray_rss[-1][1]:.1f} MB after")
    throughput = sorted(t for t, _ in hostile_pairs)
    cpu_ratio = sorted(c for _, c in hostile_pairs)
    print(f"{HOSTILE} idle and slow-header connections held during the 1-API load: throughput {throughput[len(throughput) // 2]:.2f}x of the run without them "
          f"(pairs {', '.join(f'{t:.2f}' for t in throughput)}), CPU per request {cpu_ratio[len(cpu_ratio) // 2]:.2f}x; "
          f"RSS {statistics.median(a for a, _ in hostile_rss):.1f} MB without, {statistics.median(b for _, b in hostile_rss):.1f} MB with them")
    print(f"publish -> callable with {APIS} APIs loaded: p50 {statistics.median(delays):.1f} ms, p99 {delays[int(len(delays) * 0.99) - 1]:.1f} ms, max {delays[-1]:.1f} ms")
    print(f"publish/offline churn under load: {cycles} cycles of 20 APIs, {churn_requests} requests, {churn_failed} failed, socket errors: {churn_errors}")


def run(entry):
    """Runs a bench script's `entry`, then stops what it started and removes its files, however it ends."""
    try:
        entry()
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run(main)
