#!/usr/bin/env python3
"""Two more realistic proxied requests than bench.py's 12-byte answer, for
Causeway and nginx `proxy_pass` in the same run (rounds alternate, medians
and the ratio of each pair printed):

* `GET /json`: the backend answers 1 KB of JSON with a dozen response headers;
* `POST /post`: a 4 KB form body with the request headers a browser sends
  (User-Agent, Accept*, Cookie, Referer, Origin, …).

    python3 bench/realistic.py       # DURATION=10 ROUNDS=3 by default

Uses target/release/causeway and what bench/run.sh installs.
"""

import json
import os

import bench
from bench import CW_PORT, LOAD_CPU, PROXY_CPU, api, http_api, log, measure_cpu, start, start_causeway, stop, wait_port

JSON_BODY = json.dumps({"orders": [{"id": 1000 + i, "item": f"item-{i:03d}", "qty": i % 7 + 1, "price": 9.99 + i, "status": "shipped"}
                                   for i in range(12)]})[:1024]
RESPONSE_HEADERS = [("Cache-Control", "no-store"), ("X-Request-Source", "orders"), ("X-RateLimit-Limit", "1000"),
                    ("X-RateLimit-Remaining", "998"), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Strict-Transport-Security", "max-age=31536000"), ("Vary", "Accept-Encoding"), ("ETag", '"33a64df551425fcc55e4d42a148795d9f25f89d4"'),
                    ("Last-Modified", "Wed, 21 Oct 2026 07:28:00 GMT"), ("X-Backend-Version", "4.2.1"), ("Access-Control-Allow-Origin", "*")]

POST_SCRIPT = """
wrk.method = "POST"
wrk.body = "payload=" .. string.rep("a", 4088)
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
wrk.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
wrk.headers["Accept-Language"] = "en-US,en;q=0.9,zh-CN;q=0.8"
wrk.headers["Accept-Encoding"] = "gzip, deflate, br, zstd"
wrk.headers["Cookie"] = "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; _ga=GA1.2.1234567890.1700000000"
wrk.headers["Referer"] = "https://shop.example.com/cart"
wrk.headers["Origin"] = "https://shop.example.com"
wrk.headers["Sec-Fetch-Site"] = "same-site"
wrk.headers["Sec-Fetch-Mode"] = "cors"
wrk.headers["Sec-Ch-Ua"] = '"Chromium";v="131", "Not_A Brand";v="24"'
"""


def main():
    headers = " ".join(f"add_header {k} '{v}' always;" for k, v in RESPONSE_HEADERS)
    body = JSON_BODY.replace("'", "\\'")
    backend_conf = bench.nginx_conf("backend", f"""
  server {{ listen 127.0.0.1:{bench.BACKEND_PORT} backlog=4096;
    location /json {{ default_type application/json; {headers} return 200 '{body}'; }}
    location / {{ return 200 "hello world\\n"; }} }}""")
    backend = start(["nginx", "-c", backend_conf], LOAD_CPU)
    wait_port(bench.BACKEND_PORT)
    proxy_conf = bench.nginx_conf("proxy", f"""
  upstream backend {{ server 127.0.0.1:{bench.BACKEND_PORT}; keepalive 64; keepalive_requests 1000000; }}
  server {{ listen 127.0.0.1:{bench.NGINX_PORT} backlog=4096;
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}""")
    nginx = start(["nginx", "-c", proxy_conf], PROXY_CPU)
    wait_port(bench.NGINX_PORT)
    script = os.path.join(bench.work, "post.lua")
    with open(script, "w") as f:
        f.write(POST_SCRIPT)

    cw = start_causeway(os.path.join(bench.work, "causeway-data"))
    group = api("POST", "/api-groups", {"name": "bench"})["id"]
    host = f"{group}.apigw.localhost"
    as_json = http_api(group, "orders", "/json")
    as_json["backend_api"]["req_uri"] = "/json"
    posted = http_api(group, "posted", "/post")
    posted["req_method"] = "POST"
    posted["backend_api"] = dict(posted["backend_api"], req_method="POST", req_uri="/post")
    for a in (as_json, posted):
        api_id = api("POST", "/apis", a)["id"]
        api("POST", f"/apis/publish/{api_id}", {"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})

    scenarios = {"1 KB JSON + 12 headers": ("/json", None), "POST 4 KB + browser headers": ("/post", script)}
    cpu = {(side, name): [] for name in scenarios for side in ("nginx", "causeway")}
    for r in range(bench.ROUNDS):
        log(f"round {r + 1}/{bench.ROUNDS}: {', '.join(scenarios)} (nginx, causeway) ...")
        for name, (path, lua) in scenarios.items():
            cpu[("nginx", name)].append(measure_cpu(nginx.pid, bench.NGINX_PORT, "x", script=lua, path=path)[0])
            cpu[("causeway", name)].append(measure_cpu(cw.pid, CW_PORT, host, script=lua, path=path)[0])
    for p in (cw, nginx, backend):
        stop(p)
    median = lambda runs: sorted(runs)[len(runs) // 2]
    print()
    print("CPU per request (µs; medians of rounds), Causeway against nginx proxy_pass")
    for name in scenarios:
        ours, theirs = cpu[("causeway", name)], cpu[("nginx", name)]
        pairs = ", ".join(f"{a / b:.2f}" for a, b in zip(ours, theirs))
        print(f"  {name:<30} nginx {median(theirs):6.2f}  causeway {median(ours):6.2f}  {median(ours) / median(theirs):.2f}x (pairs {pairs})")


if __name__ == "__main__":
    bench.run(main)
