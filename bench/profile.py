#!/usr/bin/env python3
"""Where the instructions of one request go: runs one scenario under
callgrind (counters zeroed after a warm-up, user-space instructions of
every thread, background tasks included) and adds up the functions' own costs by component —
hyper's server and client halves, tokio, the allocator, our pipeline's
modules, … — per request.

    python3 bench/profile.py [BINARY] [--scenario 1api|mock|app] [--top 25]

BINARY defaults to target/release/causeway. Prints the components, then the
costliest functions. Needs what bench/run.sh installs (nginx, hey, valgrind).
"""

import argparse
import os
import re
import shutil
import subprocess
import time

import bench
from bench import api, http_api, log, sdk_sign, start, start_causeway, stop, wait_port

RELEASE = {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"}

# First match wins: (component, pattern over the demangled function name or its object file).
COMPONENTS = [
    ("allocator (mimalloc)", r"^(mi_|_mi_)|mimalloc"),
    ("libc (memcpy, memmove, …)", r"libc\.so|ld-linux|^(__)?mem(cpy|move|set|cmp)|^str(len|cmp)"),
    ("gateway: access log", r"causeway_gateway::observe::access_log"),
    ("gateway: metrics", r"causeway_gateway::observe::metrics|^metrics::|metrics_exporter"),
    ("gateway: trace context, request id", r"causeway_gateway::observe::(trace|request_id|spans)"),
    ("gateway: routing", r"causeway_gateway::routing"),
    ("gateway: backend mapping", r"causeway_gateway::backend::http::mapping"),
    ("gateway: backend call, upstream pool", r"causeway_gateway::(backend|upstream)"),
    ("gateway: listeners, connections", r"causeway_gateway::listen"),
    ("gateway: pipeline, stages, responses", r"causeway_gateway::(pipeline|stages|http)"),
    ("gateway: other", r"causeway_gateway|causeway_"),
    ("httparse (HTTP/1 parsing)", r"httparse::"),
    ("hyper: HTTP/1 client", r"hyper::client|hyper::proto::h1::role::Client|hyper_util::client"),
    ("hyper: HTTP/1 server", r"hyper::server|hyper::proto::h1::role::Server|hyper_util::server"),
    ("hyper: shared HTTP/1 (io, dispatch, encode)", r"hyper::|hyper_util::"),
    ("http crate (HeaderMap, Uri)", r"^(<)?http::"),
    ("tokio (scheduler, io, time, sync)", r"tokio::|tokio_util::|mio::"),
    ("bytes", r"bytes::"),
    ("futures, pin, async glue", r"futures_|core::future|core::pin|async_fn|\{\{closure\}\}"),
    ("hashing (foldhash, fxhash, sip)", r"foldhash|rustc_hash|core::hash|siphash"),
    ("std, core, alloc (formatting, strings, vec)", r"^(<)?(core|alloc|std)::"),
]


def prepare(data, scenario):
    cw = start_causeway(data)
    group = api("POST", "/api-groups", {"name": "bench"})["id"]
    host = f"{group}.apigw.localhost"
    headers = ()
    if scenario == "mock":
        body = {"group_id": group, "name": "profiled", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/p",
                "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "hello world\n"}}
    else:
        body = http_api(group, "profiled", "/p")
        if scenario == "app":
            body["auth_type"] = "APP"
    api_id = api("POST", "/apis", body)["id"]
    api("POST", f"/apis/publish/{api_id}", RELEASE)
    if scenario == "app":
        app = api("POST", "/apps", {"name": "bench_app"})
        api("POST", "/app-auths", {"api_ids": [api_id], "app_ids": [app["id"]], **RELEASE})
        headers = sdk_sign("GET", host, "/p", app["app_key"], app["app_secret"])
    stop(cw)
    return host, headers


def components(annotated, requests):
    totals = {name: 0 for name, _ in COMPONENTS}
    totals["other"] = 0
    functions = []
    for line in annotated.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$", line)
        if not m or ":" not in m.group(2):
            continue
        cost = int(m.group(1).replace(",", ""))
        where = m.group(2)
        # Thread entry points show the thread's whole count when counters are zeroed mid-call: not their own.
        if re.search(r":(start_thread|clone|<std::sys::thread::unix::Thread>::new::thread_start|core::ops::function::FnOnce::call_once\{\{vtable\.shim\}\})\s*(\[|$)", where):
            continue
        # `file:function [object]`
        name = where.split(":", 1)[1] if not where.startswith("/") or ":" in where else where
        name = re.sub(r"\s*\[[^\]]*\]\s*$", "", name).strip()
        obj = re.search(r"\[([^\]]*)\]\s*$", where)
        target = name + " " + (obj.group(1) if obj else "")
        for comp, pattern in COMPONENTS:
            if re.search(pattern, target):
                totals[comp] += cost
                break
        else:
            totals["other"] += cost
        functions.append((cost, name))
    return {k: v / requests for k, v in totals.items()}, sorted(functions, reverse=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", nargs="?", default=bench.CAUSEWAY)
    parser.add_argument("--scenario", choices=["1api", "mock", "app"], default="1api")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    backend_conf = bench.nginx_conf("backend", f"""
  server {{ listen 127.0.0.1:{bench.BACKEND_PORT} backlog=4096; location / {{ return 200 "hello world\\n"; }} }}""")
    backend = start(["nginx", "-c", backend_conf], bench.LOAD_CPU)
    wait_port(bench.BACKEND_PORT)
    data = os.path.join(bench.work, "causeway-data")
    bench.CAUSEWAY = binary
    host, headers = prepare(data, args.scenario)
    out = os.path.join(bench.work, "profile.out")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{bench.CW_PORT}",
           "--listen-tls", f"127.0.0.1:{bench.CW_TLS_PORT}", "--admin-listen", f"127.0.0.1:{bench.CW_ADMIN}",
           "--workers", "1", "--watch-interval", "3600000", "--access-log", "off", "--config", bench.config_file()]
    log(f"profiling {args.scenario} ({args.requests} requests) ...")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, CAUSEWAY_ADMIN_TOKEN=bench.TOKEN, CAUSEWAY_LOG="warn"))
    try:
        wait_port(bench.CW_PORT, 300)
        send = lambda n: subprocess.run(["hey", "-n", str(n), "-c", "4", "-host", host] + [a for h in headers for a in ("-H", h)]
                                        + [f"http://127.0.0.1:{bench.CW_PORT}/p"], capture_output=True, check=True)
        send(300)
        # Counted from here: the requests only, not start-up or the warm-up.
        subprocess.run(["callgrind_control", "-z", str(p.pid)], capture_output=True, check=True)
        send(args.requests)
        subprocess.run(["callgrind_control", "--dump=requests", str(p.pid)], capture_output=True, check=True)
        time.sleep(1)
    finally:
        p.terminate()
        p.wait(120)
        stop(backend)
    # The requested dump (`profile.out.1`), not the one written at exit.
    dumps = sorted(f for f in os.listdir(bench.work) if f.startswith("profile.out."))
    if os.environ.get("PROFILE_KEEP"):
        for d in dumps:
            shutil.copy(os.path.join(bench.work, d), os.environ["PROFILE_KEEP"])
    annotated = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no"] + [os.path.join(bench.work, d) for d in dumps],
                               capture_output=True, text=True, check=True).stdout
    totals, functions = components(annotated, args.requests)
    total = sum(totals.values())
    print(f"\nInstructions per request by component ({args.scenario}, {binary}): {total:,.0f} in all")
    for name, n in sorted(totals.items(), key=lambda kv: -kv[1]):
        if n >= 1:
            print(f"  {n:>9,.0f}  {n / total * 100:5.1f}%  {name}")
    print(f"\nCostliest functions (own instructions per request):")
    for cost, name in functions[: args.top]:
        print(f"  {cost / args.requests:>9,.0f}  {name[:150]}")


if __name__ == "__main__":
    bench.run(main)
