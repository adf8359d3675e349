#!/usr/bin/env python3
"""A/B of the request path: user-space instructions per request (callgrind)
of two Causeway binaries on the same published state, scenario by scenario.
Callgrind counts are deterministic, so small changes show; run it before a
change to the request path lands, against the binary before the change.

    python3 bench/ab.py BEFORE [AFTER]        # AFTER: target/release/causeway

Scenarios: one HTTP API, a MOCK API, an APP API called with an SDK-HMAC-SHA256
signature, and an API among APIS (10,000 by default) published APIs; all
with every API loaded. Each binary runs once under callgrind; each scenario
is counted after a warm-up, on the thread that serves the requests (see
bench.callgrind_per_request). Needs what bench/run.sh installs (nginx, hey,
valgrind).
"""

import os
import shutil
import sys

import bench
from bench import api, callgrind_per_request, http_api, log, sdk_sign, start, start_causeway, stop, wait_port

RELEASE = {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"}


def publish(body):
    api_id = api("POST", "/apis", body)["id"]
    api("POST", f"/apis/publish/{api_id}", RELEASE)
    return api_id


def prepare(data):
    """Publishes the scenarios' APIs with the first binary; returns (host, {scenario: (path, headers)})."""
    cw = start_causeway(data)
    group = api("POST", "/api-groups", {"name": "bench"})["id"]
    host = f"{group}.apigw.localhost"
    publish(http_api(group, "hello", "/hello"))
    publish({"group_id": group, "name": "mocked", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/mock",
             "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "hello world\n"}})
    signed_id = publish(dict(http_api(group, "signed", "/signed"), auth_type="APP"))
    app = api("POST", "/apps", {"name": "bench_app"})
    api("POST", "/app-auths", {"api_ids": [signed_id], "app_ids": [app["id"]], **RELEASE})
    log(f"loading {bench.APIS} APIs ...")
    paths = bench.publish_many(group, bench.APIS)
    stop(cw)
    # A signature stays valid for 15 minutes: the runs below take less.
    return host, {
        "1 API": ("/hello", ()),
        "MOCK": ("/mock", ()),
        "APP signed": ("/signed", sdk_sign("GET", host, "/signed", app["app_key"], app["app_secret"])),
        f"{bench.APIS} APIs": (paths[len(paths) // 2], ()),
    }


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    binaries = {"before": os.path.abspath(sys.argv[1]), "after": os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else bench.CAUSEWAY)}
    backend_conf = bench.nginx_conf("backend", f"""
  server {{ listen 127.0.0.1:{bench.BACKEND_PORT} backlog=4096; location / {{ return 200 "hello world\\n"; }} }}""")
    backend = start(["nginx", "-c", backend_conf], bench.LOAD_CPU)
    wait_port(bench.BACKEND_PORT)
    data = os.path.join(bench.work, "causeway-data")
    bench.CAUSEWAY = binaries["before"]
    host, scenarios = prepare(data)
    counts = {}
    for name, binary in binaries.items():
        copy = os.path.join(bench.work, f"data-{name}")
        shutil.copytree(data, copy)

        def cmd(binary=binary, copy=copy):
            # No store polling while counting: only requests run.
            return [binary, "serve", "--data-dir", copy, "--listen", f"127.0.0.1:{bench.CW_PORT}",
                    "--listen-tls", f"127.0.0.1:{bench.CW_TLS_PORT}", "--admin-listen", f"127.0.0.1:{bench.CW_ADMIN}",
                    "--workers", "1", "--watch-interval", "3600000", "--access-log", "off", "--config", bench.config_file()]
        log(f"{name}: {', '.join(scenarios)} ...")
        windows = [(bench.CW_PORT, host, path, headers, "http") for path, headers in scenarios.values()]
        per_request = callgrind_per_request(cmd, windows, ready=lambda: wait_port(bench.CW_ADMIN, 300))
        counts.update(((name, scenario), n) for scenario, n in zip(scenarios, per_request))
    stop(backend)
    print()
    print(f"Instructions per request (callgrind), {binaries['before']} -> {binaries['after']}")
    print(f"{'scenario':<16}{'before':>10}{'after':>10}{'change':>9}")
    for scenario in scenarios:
        before, after = counts[("before", scenario)], counts[("after", scenario)]
        print(f"{scenario:<16}{before:>10.0f}{after:>10.0f}{(after - before) / before * 100:>+8.1f}%")


if __name__ == "__main__":
    bench.run(main)
