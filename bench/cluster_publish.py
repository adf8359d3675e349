#!/usr/bin/env python3
"""Publish → callable on another node, with 10,000 APIs published.

Starts two nodes of one installation on PostgreSQL (a schema of their own,
dropped at the end): node A (admin + gateway) and node B (gateway only,
polling every 2 s as by default: only the store's change announcement makes
it faster). Creates and publishes 10,000 MOCK APIs through A, then 100 times
creates one more API, publishes it through A and measures the time from
sending the publish to B answering the new API. Prints p50, p99 and max;
the target is p99 < 100 ms. Traffic goes to 127.0.0.1 only; the script stops
both nodes itself.

    python3 bench/cluster_publish.py [target/release/causeway]

PostgreSQL: CAUSEWAY_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/test).
"""

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_list as cl  # noqa: E402  (the nodes, the API creation and the batch publish)

PROBES = 100
TARGET_MS = 100.0


def gateway_connection(addr):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def served_within(conn, host, path, deadline_s=10.0):
    """Asks until the node answers 200; the time it took (s), or raises."""
    start = time.perf_counter()
    while True:
        conn.request("GET", path, headers={"Host": host})
        res = conn.getresponse()
        res.read()
        if res.status == 200:
            return time.perf_counter() - start
        if time.perf_counter() - start > deadline_s:
            raise cl.Failed(f"{path} not served by node B within {deadline_s} s (last {res.status})")
        time.sleep(0.0005)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else cl.DEFAULT_BINARY
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"no causeway binary at {binary}; build it with: cargo build --release -p causeway", file=sys.stderr)
        return 2
    pg = os.environ.get("CAUSEWAY_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
    schema = "cw_bench_" + secrets.token_hex(6)
    store = f"{pg}{'&' if '?' in pg else '?'}schema={schema}"
    token = secrets.token_hex(20)
    a = b = None
    try:
        a = cl.Server(os.path.abspath(binary), token, ["--store", store])
        addr = a.wait_ready()
        b = cl.Server(os.path.abspath(binary), token, ["--store", store, "--role", "gateway"])
        b.wait_ready()
        cl.log(f"node A {addr} (admin + gateway), node B gateway {b.gateway}, schema {schema}")
        admin = cl.Admin(addr, token)
        group = admin.call("POST", "/api-groups", {"name": "cluster_bench"}, expect=(201,))["id"]
        host = f"{group}.apigw.localhost"
        cl.log(f"creating and publishing {cl.APIS:,} MOCK APIs ...")
        ids = cl.create_apis(addr, token, group)
        cl.publish(admin, ids)
        conn = gateway_connection(b.gateway)
        served_within(conn, host, f"/bench/a{cl.APIS:05d}", 60)
        cl.log(f"node B serves them; {PROBES} publishes ...")
        times = []
        for i in range(PROBES):
            body = {"group_id": group, "name": f"probe_{i:03d}", "type": 1, "req_protocol": "HTTP", "req_method": "GET",
                    "req_uri": f"/probe/{i}", "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "ok"}}
            api = admin.call("POST", "/apis", body, expect=(201,))["id"]
            start = time.perf_counter()
            admin.call("POST", f"/apis/publish/{api}", {"env_id": cl.RELEASE}, expect=(201,))
            served_within(conn, host, f"/probe/{i}")
            times.append((time.perf_counter() - start) * 1000)
        s = sorted(times)
        p99 = cl.nearest_rank(s, 99)
        print()
        print(f"publish on node A → served by node B, {cl.APIS:,} APIs published, {PROBES} publishes:")
        print(f"  p50 {statistics.median(s):.1f} ms, p99 {p99:.1f} ms, max {s[-1]:.1f} ms (target p99 < {TARGET_MS:.0f} ms): {'MET' if p99 < TARGET_MS else 'NOT MET'}")
        for name, node in (("A", a), ("B", b)):
            rss = node.rss_mb()
            print(f"  node {name} resident memory: {rss:.1f} MiB" if rss is not None else f"  node {name}: gone")
        return 0
    except cl.Failed as e:
        print(f"failed: {e}", file=sys.stderr)
        return 1
    finally:
        for node in (b, a):
            if node is not None:
                node.stop()
        subprocess.run(["psql", pg, "-qc", f"DROP SCHEMA IF EXISTS {schema} CASCADE"], capture_output=True, check=False)


if __name__ == "__main__":
    sys.exit(main())
