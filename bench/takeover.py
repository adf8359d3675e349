#!/usr/bin/env python3
"""Restarts under load: ten successive take-overs, no failed request.

Starts `causeway serve` (SQLite, one worker) with a published MOCK API,
puts a steady load on the gateway with hey — one run on kept-alive
connections, one opening a new connection per request — and meanwhile
starts a new `causeway serve` on the same data directory ten times: each
takes the listening sockets over and the one before drains and exits. At
the end it prints hey's counts: requests, answers other than 200, and
errors (connection resets among them). The target is 0 and 0. Traffic goes
to 127.0.0.1 only; every process stops by itself.

    python3 bench/takeover.py [target/release/causeway]
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_list as cl  # noqa: E402  (the server process and the admin client)

TAKE_OVERS = 10
RATE = 300  # requests per second, per load run
WORKERS = 4
PAUSE = 1.0  # seconds between take-overs
RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"


def ensure_hey():
    if shutil.which("hey"):
        return
    cl.log("installing hey ...")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "hey"], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                   stdout=subprocess.DEVNULL)


def start(binary, token, data, work):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUSEWAY_")}
    env.update(CAUSEWAY_ADMIN_TOKEN=token, CAUSEWAY_LOG="info")
    log = open(os.path.join(work, f"causeway-{time.monotonic_ns()}.log"), "wb")
    proc = subprocess.Popen(
        [binary, "serve", "--data-dir", data, "--admin-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
         "--workers", "1", "--drain-timeout", "10", "--access-log", "off"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    found = {}
    ready = threading.Event()

    def drain():
        for raw in proc.stderr:
            log.write(raw)
            line = raw.decode("utf-8", "replace")
            for key, marker in (("gateway", "gateway listening"), ("admin", "admin API listening")):
                if key not in found and marker in line and "addr=" in line:
                    found[key] = line.split("addr=", 1)[1].split()[0]
            if "admin" in found:
                ready.set()
        ready.set()
        log.close()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(60) or "admin" not in found:
        proc.kill()
        raise cl.Failed("causeway did not start; see the logs in " + work)
    return proc, found["gateway"], found["admin"]


def hey(url, host, seconds, keep_alive):
    args = ["hey", "-z", f"{seconds}s", "-c", str(WORKERS), "-q", str(RATE // WORKERS), "-host", host]
    if not keep_alive:
        args.append("-disable-keepalive")
    return subprocess.Popen(args + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse(output):
    """Requests, answers other than 200, errors (and resets among them) from hey's report."""
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", output)}
    errors = re.findall(r"\[(\d+)\]\s+(.+)", output.split("Error distribution:", 1)[1]) if "Error distribution:" in output else []
    error_count = sum(int(n) for n, _ in errors)
    resets = sum(int(n) for n, what in errors if "reset" in what)
    other = sum(n for c, n in codes.items() if c != 200)
    return sum(codes.values()) + error_count, other, error_count, resets, [what.strip() for _, what in errors][:5]


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else cl.DEFAULT_BINARY)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"no causeway binary at {binary}; build it with: cargo build --release -p causeway", file=sys.stderr)
        return 2
    ensure_hey()
    work = tempfile.mkdtemp(prefix="causeway-takeover-bench-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    token = secrets.token_hex(20)
    procs = []
    try:
        proc, gateway, admin_addr = start(binary, token, data, work)
        procs.append(proc)
        admin = cl.Admin(admin_addr, token)
        group = admin.call("POST", "/api-groups", {"name": "takeover_bench"}, expect=(201,))["id"]
        api = admin.call("POST", "/apis", {"group_id": group, "name": "steady", "type": 1, "req_protocol": "HTTP", "req_method": "GET",
                                           "req_uri": "/steady", "auth_type": "NONE", "backend_type": "MOCK",
                                           "mock_info": {"result_content": "steady"}}, expect=(201,))["id"]
        admin.call("POST", "/apis/publish?action=online", {"apis": [api], "env_id": RELEASE}, expect=(200,))
        admin.close()
        host = f"{group}.apigw.localhost"
        seconds = int(TAKE_OVERS * (PAUSE + 1.5) + 4)
        url = f"http://{gateway}/steady"
        cl.log(f"load: 2 × {RATE} req/s for {seconds} s (kept-alive / a new connection per request); {TAKE_OVERS} take-overs")
        loads = {"kept-alive": hey(url, host, seconds, True), "new connections": hey(url, host, seconds, False)}
        time.sleep(2)
        took = []
        for i in range(TAKE_OVERS):
            started = time.monotonic()
            new, new_gateway, new_admin = start(binary, token, data, work)
            if (new_gateway, new_admin) != (gateway, admin_addr):
                raise cl.Failed(f"take-over {i + 1}: listening on {new_gateway}/{new_admin}, not {gateway}/{admin_addr}")
            old = procs[-1]
            code = old.wait(30)
            if code != 0:
                raise cl.Failed(f"take-over {i + 1}: the old process exited with {code}")
            took.append(time.monotonic() - started)
            procs.append(new)
            time.sleep(PAUSE)
        results = {name: parse(p.communicate(timeout=seconds + 30)[0]) for name, p in loads.items()}
        print()
        print(f"take-overs: {TAKE_OVERS}, each until the old process had exited: median {sorted(took)[len(took) // 2] * 1000:.0f} ms, "
              f"max {max(took) * 1000:.0f} ms")
        failed_total = 0
        for name, (requests, other, errors, resets, samples) in results.items():
            failed_total += other + errors
            print(f"  {name:16} requests {requests:6}   not 200: {other}   errors: {errors} (connection resets: {resets})"
                  + (f"   e.g. {samples}" if samples else ""))
        verdict = "PASS" if failed_total == 0 else "FAIL"
        print(f"take-over under load: {failed_total} failed requests (target 0) — {verdict}")
        print(json.dumps({"take_overs": TAKE_OVERS, "failed": failed_total}))
        return 0 if failed_total == 0 else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cl.Failed as e:
        print(f"failed: {e}", file=sys.stderr)
        sys.exit(1)
