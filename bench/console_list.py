#!/usr/bin/env python3
"""Server time of the web console's API list with 10,000 APIs.

Target: "Server time to render the API list with 10,000 APIs < 50 ms".

Starts `causeway serve` on ephemeral ports of 127.0.0.1 (SQLite in a
temporary data directory, `--workers 1`, a random admin token), creates one
API group with 10,000 MOCK APIs through the management API (the group quota
raised in a `[limits]` config file: the default is 1,000 APIs per group),
publishes one in ten of them to RELEASE, signs in to the console with the
admin token, and then times console pages over one keep-alive connection:
after 5 warm-up requests, 50 requests each, from sending the request to
having read the whole body (time.perf_counter). Every answer must be 200.

Pages: the unfiltered API list (first page and page 250 of 500), a name
search, a path search, the published filter, the authentication and backend
filters, and the overview. It prints median, p95 (nearest rank) and max
milliseconds and the body size of each, the verdict for the target (from
the p95 of the unfiltered first page and of the late page: both must be
under 50 ms), and the server's resident memory after the run.

    python3 bench/console_list.py [target/release/causeway]

Build the binary first with `cargo build --release -p causeway`. Standard
library only. It sends traffic only to 127.0.0.1 and stops by itself: the
server is stopped (SIGTERM, then kill) and its data directory removed at the
end, on errors too. Exit status: 0 whether the target is met or not, 1 if a
request failed, 2 if the binary is missing.
"""

import collections
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = os.path.join(ROOT, "target", "release", "causeway")
APIS = 10_000
PUBLISH_EVERY = 10  # one API in ten is published to RELEASE
CREATE_THREADS = 4
WARMUP = 5
RUNS = 50
TARGET_MS = 50.0
RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
PUBLISH_BATCH = 250  # at most 1000 (MAX_BATCH) per batch call
TIMEOUT = 120  # seconds, per request

PAGES = [
    "/console/apis",
    "/console/apis?page=250",
    "/console/apis?q=api_0999",
    "/console/apis?q=/bench/a09",
    "/console/apis?published=yes",
    "/console/apis?auth_type=NONE&backend_type=MOCK",
    "/console/overview",
]
# The verdict is on the unfiltered list: its first page and a late one.
VERDICT_PAGES = ("/console/apis", "/console/apis?page=250")


class Failed(Exception):
    """A request that did not answer as expected."""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Server:
    """`causeway serve` on ephemeral ports; its stderr drained by a thread."""

    def __init__(self, binary, token, extra=()):
        self.work = tempfile.mkdtemp(prefix="causeway-console-bench-")
        self.data = os.path.join(self.work, "data")
        os.makedirs(self.data)
        config = os.path.join(self.work, "causeway.toml")
        with open(config, "w") as f:
            # The default quota is 1000 APIs in one group.
            f.write(f"[limits]\napis_per_group = {APIS + 1000}\n")
        # None of the caller's CAUSEWAY_* settings (a store URL, say): flags and these two only.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAUSEWAY_")}
        env.update(CAUSEWAY_ADMIN_TOKEN=token, CAUSEWAY_LOG="info")
        self.tail = collections.deque(maxlen=50)
        self.admin = None
        self.gateway = None
        self._ready = threading.Event()
        try:
            self.proc = subprocess.Popen(
                [binary, "serve", "--data-dir", self.data, "--admin-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0",
                 "--listen-tls", "127.0.0.1:0", "--workers", "1", "--config", config, *extra],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError:
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        # Keep reading so the server never blocks on a full pipe.
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(line)
            if self.gateway is None and "gateway listening" in line and "addr=" in line:
                self.gateway = line.split("addr=", 1)[1].split()[0]
            if self.admin is None and "admin API listening" in line and "addr=" in line:
                addr = line.split("addr=", 1)[1].split()
                if addr:
                    self.admin = addr[0]
                    self._ready.set()
        self._ready.set()  # stderr closed: the process has ended

    def wait_ready(self, timeout=60):
        """The admin listener's `host:port`, once the server reports it."""
        if not self._ready.wait(timeout) or self.admin is None:
            try:
                code = self.proc.wait(5)  # stderr closed: the process is ending
            except subprocess.TimeoutExpired:
                code = None
            state = f"exited with {code}" if code is not None else f"no admin address within {timeout} s"
            raise Failed(f"causeway did not start ({state}); last log lines:\n" + "\n".join(self.tail))
        return self.admin

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                log("causeway did not stop on SIGTERM: killing it")
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    def rss_mb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None


def connect(addr):
    """A keep-alive connection to `host:port`, without Nagle's delay on our side."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


class Admin:
    """Management calls over one keep-alive connection."""

    def __init__(self, addr, token):
        self.addr, self.token = addr, token
        self.conn = None

    def call(self, method, path, body=None, expect=(200, 201)):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"X-Auth-Token": self.token}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = connect(self.addr)
            try:
                self.conn.request(method, f"/v1.0/apigw{path}", body=data, headers=headers)
                res = self.conn.getresponse()
                text = res.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed: once more on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if res.status not in expect:
            raise Failed(f"{method} {path}: {res.status} {text[:300]!r}")
        return json.loads(text) if text else None

    def close(self):
        if self.conn is not None:
            self.conn.close()


def create_apis(addr, token, group_id):
    """Creates APIS MOCK APIs in the group with a few threads; their ids, in order."""
    ids = [None] * APIS
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "error": None}
    started = time.perf_counter()

    def worker():
        admin = Admin(addr, token)
        try:
            while True:
                with lock:
                    if state["error"] or state["next"] >= APIS:
                        return
                    i = state["next"]
                    state["next"] += 1
                n = i + 1
                body = {"group_id": group_id, "name": f"api_{n:05d}", "type": 1, "req_protocol": "HTTP",
                        "req_method": "GET", "req_uri": f"/bench/a{n:05d}", "auth_type": "NONE",
                        "backend_type": "MOCK", "mock_info": {"result_content": "ok"}}
                ids[i] = admin.call("POST", "/apis", body, expect=(201,))["id"]
                with lock:
                    state["done"] += 1
                    done = state["done"]
                if done % 1000 == 0:
                    log(f"  {done} APIs created ({time.perf_counter() - started:.1f} s)")
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            with lock:
                state["error"] = state["error"] or e
        finally:
            admin.close()

    threads = [threading.Thread(target=worker) for _ in range(CREATE_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["error"]:
        raise Failed(f"creating APIs: {state['error']}")
    return ids


def publish(admin, ids):
    """Publishes `ids` to RELEASE in batches."""
    done = 0
    for start in range(0, len(ids), PUBLISH_BATCH):
        chunk = ids[start:start + PUBLISH_BATCH]
        r = admin.call("POST", "/apis/publish?action=online", {"apis": chunk, "env_id": RELEASE}, expect=(200,))
        if r.get("failure"):
            raise Failed(f"publishing: {len(r['failure'])} failed, e.g. {r['failure'][:3]}")
        done += len(chunk)
        log(f"  {done} APIs published to RELEASE")


def sign_in(addr, token):
    """A console session: the `causeway_session=...` cookie pair."""
    conn = connect(addr)
    try:
        conn.request("POST", "/console/sign-in", body=urllib.parse.urlencode({"token": token}),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        res = conn.getresponse()
        res.read()
        for name, value in res.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0].strip()
                if pair.startswith("causeway_session=") and len(pair) > len("causeway_session="):
                    return pair
        raise Failed(f"POST /console/sign-in: {res.status}, no causeway_session cookie")
    finally:
        conn.close()


def nearest_rank(sorted_values, p):
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def measure(addr, cookie):
    """{page: (times in ms, body size, rows on the page)}, over one keep-alive connection."""
    conn = connect(addr)
    headers = {"Cookie": cookie}
    results = {}
    try:
        for page in PAGES:
            times = []
            body = b""
            for i in range(WARMUP + RUNS):
                t0 = time.perf_counter()
                conn.request("GET", page, headers=headers)
                res = conn.getresponse()
                body = res.read()
                elapsed = (time.perf_counter() - t0) * 1000
                if res.status != 200:
                    raise Failed(f"GET {page}: {res.status} (location {res.getheader('Location')!r}) {body[:200]!r}")
                if i >= WARMUP:
                    times.append(elapsed)
            # Rows of the API table (links to APIs in table cells).
            rows = body.count(b'<td><a href="/console/apis/')
            results[page] = (times, len(body), rows)
            log(f"  {page}: median {statistics.median(times):.1f} ms")
    finally:
        conn.close()
    return results


def after_changes(addr, cookie, admin, ids):
    """The first listing after a change: an API renamed, then the list read (times in ms)."""
    conn = connect(addr)
    times = []
    try:
        for i in range(RUNS // 2):
            api_id = ids[i * 7 % len(ids)]
            api = admin.call("GET", f"/apis/{api_id}", expect=(200,))
            body = {k: api[k] for k in ("group_id", "name", "type", "req_protocol", "req_method", "req_uri", "auth_type", "backend_type", "mock_info")}
            body["name"] = f"renamed_{i:05d}"
            admin.call("PUT", f"/apis/{api_id}", body, expect=(200,))
            t0 = time.perf_counter()
            conn.request("GET", f"/console/apis?q=renamed_{i:05d}", headers={"Cookie": cookie})
            res = conn.getresponse()
            page = res.read()
            times.append((time.perf_counter() - t0) * 1000)
            if res.status != 200 or f"renamed_{i:05d}".encode() not in page:
                raise Failed(f"the listing after renaming {api_id} does not show it ({res.status})")
    finally:
        conn.close()
    return times


def report(results):
    width = max(len(p) for p in PAGES)
    print()
    print(f"{'page':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'max ms':>7}  {'body bytes':>10}  {'rows':>4}")
    for page in PAGES:
        times, size, rows = results[page]
        s = sorted(times)
        print(f"{page:<{width}}  {statistics.median(s):>9.1f}  {nearest_rank(s, 95):>7.1f}  {s[-1]:>7.1f}  {size:>10}  {rows:>4}")
    median = max(statistics.median(results[p][0]) for p in VERDICT_PAGES)
    p95 = max(nearest_rank(sorted(results[p][0]), 95) for p in VERDICT_PAGES)
    verdict = "MET" if p95 < TARGET_MS else "NOT MET"
    print()
    print(f"API list, {APIS:,} APIs: median {median:.1f} ms, p95 {p95:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    print(f"  (the slower of {' and '.join(VERDICT_PAGES)}; {RUNS} requests each after {WARMUP} warm-up)")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_BINARY
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"no causeway binary at {binary}; build it with: cargo build --release -p causeway", file=sys.stderr)
        return 2
    token = secrets.token_hex(20)  # 40 characters
    server = None
    try:
        server = Server(os.path.abspath(binary), token)
        addr = server.wait_ready()
        log(f"causeway pid {server.proc.pid}, admin API on {addr}")
        admin = Admin(addr, token)
        group_id = admin.call("POST", "/api-groups", {"name": "console_bench"}, expect=(201,))["id"]
        log(f"creating {APIS:,} MOCK APIs in group {group_id} ({CREATE_THREADS} threads) ...")
        ids = create_apis(addr, token, group_id)
        total = admin.call("GET", f"/apis?group_id={group_id}&page_size=1", expect=(200,)).get("total")
        if total != APIS:
            raise Failed(f"the group holds {total} APIs, not {APIS}")
        log(f"publishing {APIS // PUBLISH_EVERY:,} of them to RELEASE ...")
        publish(admin, ids[::PUBLISH_EVERY])
        admin.close()
        cookie = sign_in(addr, token)
        log(f"signed in; timing {len(PAGES)} pages, {WARMUP} warm-up + {RUNS} requests each ...")
        results = measure(addr, cookie)
        report(results)
        changed = sorted(after_changes(addr, cookie, Admin(addr, token), ids))
        print(f"first listing after a change (an API renamed), {len(changed)} times: median {statistics.median(changed):.1f} ms, "
              f"p95 {nearest_rank(changed, 95):.1f} ms, max {changed[-1]:.1f} ms")
        rss = server.rss_mb()
        print(f"causeway resident memory (VmRSS) after the run: {rss:.1f} MiB" if rss is not None else
              "causeway resident memory: unknown (process gone)")
        return 0
    except (Failed, OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as e:
        print(f"failed: {e}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
