#!/usr/bin/env python3
"""The proxy's CPU per request with access logs on both sides: Causeway's
JSON lines to a file and to stdout (a pipe a collector drains), nginx's
default log to a file with `buffer=64k flush=1s`, and both with logs off,
for one proxied API. Rounds alternate the configurations; medians and the
ratio of each pair are printed.

    python3 bench/logs.py            # DURATION=10 ROUNDS=3 by default

Uses target/release/causeway and what bench/run.sh installs.
"""

import os
import shutil
import subprocess
import threading

import bench
from bench import CW_ADMIN, CW_PORT, LOAD_CPU, PROXY_CPU, api, http_api, log, measure_cpu, start, stop, wait_port

NGINX_LOG_PORT = 18086


def start_causeway(data, access_log):
    """Causeway on `data` with `--access-log access_log`; stdout is a pipe a thread drains, as a collector would."""
    env = dict(os.environ, CAUSEWAY_ADMIN_TOKEN=bench.TOKEN, CAUSEWAY_LOG="warn")
    args = [bench.CAUSEWAY, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{CW_PORT}",
            "--listen-tls", f"127.0.0.1:{bench.CW_TLS_PORT}", "--admin-listen", f"127.0.0.1:{CW_ADMIN}",
            "--workers", "1", "--function-workers", "1", "--access-log", access_log, "--config", bench.config_file()]
    p = start(args, PROXY_CPU, env=env, stdout=subprocess.PIPE)
    drained = threading.Thread(target=lambda: shutil.copyfileobj(p.stdout, open(os.devnull, "wb"), 1 << 16), daemon=True)
    drained.start()
    wait_port(CW_ADMIN, 120)
    wait_port(CW_PORT, 120)
    return p


def main():
    backend_conf = bench.nginx_conf("backend", f"""
  server {{ listen 127.0.0.1:{bench.BACKEND_PORT} backlog=4096; location / {{ return 200 "hello world\\n"; }} }}""")
    backend = start(["nginx", "-c", backend_conf], LOAD_CPU)
    wait_port(bench.BACKEND_PORT)
    proxy = lambda name, port, access_log: bench.nginx_conf(name, f"""
  upstream backend {{ server 127.0.0.1:{bench.BACKEND_PORT}; keepalive 64; keepalive_requests 1000000; }}
  server {{ listen 127.0.0.1:{port} backlog=4096; {access_log}
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}""")
    logs_dir = os.path.join(bench.work, "logs")
    os.makedirs(logs_dir, exist_ok=True)
    nginx_off = start(["nginx", "-c", proxy("proxy-off", bench.NGINX_PORT, "")], PROXY_CPU)
    nginx_file = start(["nginx", "-c", proxy("proxy-log", NGINX_LOG_PORT, f"access_log {logs_dir}/nginx.log combined buffer=64k flush=1s;")], PROXY_CPU)
    wait_port(bench.NGINX_PORT)
    wait_port(NGINX_LOG_PORT)

    data = os.path.join(bench.work, "causeway-data")
    cw = start_causeway(data, "off")
    group = api("POST", "/api-groups", {"name": "bench"})["id"]
    host = f"{group}.apigw.localhost"
    one = api("POST", "/apis", http_api(group, "hello", "/hello"))
    api("POST", f"/apis/publish/{one['id']}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})
    stop(cw)

    modes = {"off": "off", "file": os.path.join(logs_dir, "causeway.log"), "stdout": "stdout"}
    cpu = {f"nginx {m}": [] for m in ("off", "file")}
    cpu.update({f"causeway {m}": [] for m in modes})
    for r in range(bench.ROUNDS):
        log(f"round {r + 1}/{bench.ROUNDS}: nginx off, nginx file, causeway off, file, stdout ...")
        cpu["nginx off"].append(measure_cpu(nginx_off.pid, bench.NGINX_PORT, "x")[0])
        cpu["nginx file"].append(measure_cpu(nginx_file.pid, NGINX_LOG_PORT, "x")[0])
        for mode, target in modes.items():
            cw = start_causeway(data, target)
            cpu[f"causeway {mode}"].append(measure_cpu(cw.pid, CW_PORT, host)[0])
            stop(cw)
    stop(nginx_off)
    stop(nginx_file)
    stop(backend)
    median = lambda runs: sorted(runs)[len(runs) // 2]
    print()
    print("CPU per request, one proxied API (µs; medians of rounds), access logs on and off")
    for name, runs in cpu.items():
        print(f"  {name:<16}{median(runs):>8.2f}   rounds: {', '.join(f'{x:.2f}' for x in runs)}")
    for ours, theirs in [("causeway off", "nginx off"), ("causeway file", "nginx file"), ("causeway stdout", "nginx file")]:
        pairs = [a / b for a, b in zip(cpu[ours], cpu[theirs])]
        print(f"  {ours} / {theirs}: {median(cpu[ours]) / median(cpu[theirs]):.2f}x of medians (pairs {', '.join(f'{p:.2f}' for p in pairs)})")
    file_cost = median(cpu["causeway stdout"]) / median(cpu["causeway file"])
    print(f"  causeway stdout / causeway file: {file_cost:.2f}x")


if __name__ == "__main__":
    bench.run(main)
