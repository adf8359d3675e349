"""A new user's first session with the console, in a real Chromium driven by
Playwright: sign in; create a group; create an HTTP API with a path
parameter and a mapping through the wizard (first with a mistake, shown on
its field); publish it; call it through the gateway; see the call in the
overview; debug it; create an app; switch the API to APP authentication,
publish, authorize the app and call the API signed (with the vendor's
signer from PyPI); compare the two versions and switch back; delete the
API. A screenshot of each step goes to SHOTS. Run by tests/console_browser.rs:

    python walkthrough.py

with CONSOLE, GATEWAY, BACKEND (host:port of an echo server), TOKEN,
CHROMIUM and SHOTS in the environment. Exits non-zero at the first step
that does not behave; prints what it did.
"""

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

from apigateway_sdk_python import signer as vendor_signer
from playwright.sync_api import expect, sync_playwright

CONSOLE = os.environ["CONSOLE"]
GATEWAY = os.environ["GATEWAY"]
BACKEND = os.environ["BACKEND"]
TOKEN = os.environ["TOKEN"]
SHOTS = os.environ["SHOTS"]
os.makedirs(SHOTS, exist_ok=True)
shot_no = 0


def shot(page, name, full_page=True):
    global shot_no
    labelled(page)
    shot_no += 1
    page.screenshot(path=os.path.join(SHOTS, f"{shot_no:02d}-{name}.png"), full_page=full_page)


# Form controls a screen reader could not name: no <label for>, no wrapping <label>, no aria-label.
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !(e.id && document.querySelector(`label[for="${e.id}"]`)) && !e.closest('label') && !e.getAttribute('aria-label'))
  .map(e => e.name || e.outerHTML.slice(0, 80))"""
checked_pages = set()


def labelled(page):
    """Every control of the page has a label (each page checked once)."""
    key = re.sub(r"[0-9a-f]{32}", "{id}", page.url.split("?")[0])
    if key in checked_pages:
        return
    checked_pages.add(key)
    missing = page.evaluate(UNLABELLED)
    assert not missing, f"controls without a label on {page.url}: {missing}"


def step(text):
    print(f"· {text}", flush=True)


def call(host, path, headers=None):
    """Calls the gateway as `host`: (status, body as text)."""
    req = urllib.request.Request(GATEWAY + path, headers={"Host": host, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def eventually(host, path, want_status, headers_of=lambda: {}):
    """The gateway answers `want_status` within 5 s (publishing returns once it serves)."""
    deadline = time.time() + 5
    while True:
        status, body = call(host, path, headers_of())
        if status == want_status:
            return body
        if time.time() > deadline:
            raise AssertionError(f"GET {path}: {status} {body}, wanted {want_status}")
        time.sleep(0.05)


def signed_headers(host, path, key, secret):
    s = vendor_signer.Signer()
    s.Key, s.Secret = key, secret
    r = vendor_signer.HttpRequest("GET", f"http://{host}{path}", {}, "")
    s.Sign(r)
    return dict(r.headers)


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=os.environ["CHROMIUM"], args=["--no-sandbox"])
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    # The console loads nothing from other hosts: every request stays on the admin listener.
    foreign = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(CONSOLE) else None)
    # No script errors, no CSP violations, every stylesheet and image loads
    # (pages answering 4xx on purpose, like a refused sign-in, are not problems).
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None)

    step("signing in")
    page.goto(CONSOLE + "/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    shot(page, "sign-in")
    page.fill("#token", "not the token")
    page.click("button[type=submit]")
    expect(page.locator("p.error")).to_be_visible()
    # By keyboard alone: the token field, then Enter.
    page.focus("#token")
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/overview$"))
    expect(page.locator("h1")).to_have_text("Overview")
    cookie = next(c for c in context.cookies() if c["name"] == "causeway_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie

    step("creating a group")
    page.click("nav >> text=Groups")
    page.fill("#group-name", "shop")
    page.click("text=Create group")
    group_link = page.locator("table a", has_text="shop")
    expect(group_link).to_be_visible()
    shot(page, "groups")
    group_id = group_link.get_attribute("href").rsplit("/", 1)[1]
    host = f"{group_id}.apigw.localhost"

    step("creating an API in the wizard, first with a mistake")
    page.click("nav >> text=APIs")
    page.click("text=New API")
    page.select_option("#group_id", label="shop")
    page.fill("#name", "1order")  # names start with a letter
    page.select_option("#req_protocol", "BOTH")
    page.select_option("#req_method", "GET")
    page.fill("#req_uri", "/orders/{id}")
    page.fill("#url_domain", BACKEND)
    page.select_option("#backend_protocol", "HTTP")
    page.select_option("#backend_method", "GET")
    page.fill("#backend_uri", "/backend/orders/{order}")
    page.fill("#map_name_0", "order")
    page.select_option("#map_location_0", "PATH")
    page.select_option("#map_origin_0", "REQUEST")
    page.fill("#map_value_0", "id")
    page.fill("#map_name_1", "X-Shop")
    page.select_option("#map_location_1", "HEADER")
    page.select_option("#map_origin_1", "CONSTANT")
    page.fill("#map_value_1", "causeway")
    page.click("button[value=review]")
    expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")
    name_error = page.locator("#name ~ p.error")
    expect(name_error).to_contain_text("parameterName:name")
    shot(page, "wizard-mistake", full_page=False)
    page.fill("#name", "get_order")
    page.click("button[value=review]")
    expect(page.locator("#step4")).to_be_visible()
    expect(page.locator("text=The definition is valid")).to_be_visible()
    # The path's {id} became a PATH parameter of the definition.
    expect(page.locator("text=with 1 input parameter(s)")).to_be_visible()
    shot(page, "wizard-review")
    page.click("button[value=create]")
    expect(page.locator("h1")).to_have_text("get_order")
    api_url = page.url
    expect(page.locator("section[aria-labelledby=frontend]")).to_contain_text("GET /orders/{id}")
    shot(page, "api")

    step("publishing it and calling it through the gateway")
    page.select_option("#publish-env", label="RELEASE")
    page.fill("#publish-remark", "first release")
    page.click("text=Publish the current definition")
    expect(page.locator("text=Effective in: RELEASE")).to_be_visible()
    shot(page, "published")
    seen = json.loads(eventually(host, "/orders/42", 200))
    assert seen["path"] == "/backend/orders/42", seen
    assert seen["headers"]["x-shop"] == ["causeway"], seen
    for _ in range(4):
        assert call(host, "/orders/43")[0] == 200
    assert call(host, "/orders")[0] == 404

    step("seeing the calls in the overview")
    page.click("nav >> text=Overview")
    page.click("text=1 min")
    traffic = page.locator("table", has=page.locator("caption", has_text="Top APIs by traffic"))
    row = traffic.locator("tr", has=page.locator("a", has_text="get_order"))
    expect(row).to_contain_text("RELEASE")
    expect(row.locator("td").nth(2)).to_have_text("5")
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("section[aria-labelledby=nodes]")).to_contain_text("up to date")
    shot(page, "overview")
    # At phone width the overview still reads.
    page.set_viewport_size({"width": 390, "height": 844})
    # Nothing wider than the phone: the navigation wraps, tables scroll in their box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate("document.documentElement.scrollWidth")
    shot(page, "overview-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    step("debugging it")
    page.goto(api_url)
    page.fill("#debug-path", "/orders/7")
    page.fill("#debug-headers", "X-Trace: console")
    page.click("section[aria-labelledby=debug] button[type=submit]")
    expect(page.locator("h1")).to_have_text("Debug answer")
    expect(page.locator("#debug-request")).to_contain_text("GET /orders/7")
    expect(page.locator("#debug-request")).to_contain_text("X-Trace: console", ignore_case=True)
    received = page.locator("#debug-backend")
    expect(received).to_contain_text("GET /backend/orders/7")
    expect(received).to_contain_text("x-shop: causeway", ignore_case=True)
    expect(page.locator("#debug-response")).to_contain_text("200")
    expect(page.locator("#debug-response")).to_contain_text('"path":"/backend/orders/7"')
    shot(page, "debug")

    step("creating an app")
    page.click("nav >> text=Apps")
    page.fill("#app-name", "mobile_app")
    page.click("text=Create app")
    # The key and secret are shown once on creation, and again on request.
    expect(page.locator("h1")).to_have_text("App mobile_app created")
    app_key = page.locator("dt:text('Key') + dd code").inner_text()
    app_secret = page.locator("dt:text('Secret') + dd code").inner_text()
    assert len(app_key) >= 16 and len(app_secret) >= 16, (app_key, app_secret)
    page.click("text=Go to the app")
    app_url = page.url
    expect(page.locator("dt:text('Secret') + dd code")).to_have_count(0)
    page.click("text=Show the secret")
    expect(page.locator("dt:text('Secret') + dd code")).to_have_text(app_secret)

    step("switching the API to APP authentication and publishing it again")
    page.goto(api_url)
    page.click("a:text('Edit')")
    expect(page.locator("#req_uri")).to_have_value("/orders/{id}")
    expect(page.locator("#map_value_1")).to_have_value("causeway")
    page.select_option("#auth_type", "APP")
    shot(page, "api-edit")
    page.click("button[value=review]")
    page.click("button[value=create]")
    expect(page.locator("section[aria-labelledby=frontend]")).to_contain_text("APP")
    page.select_option("#publish-env", label="RELEASE")
    page.fill("#publish-remark", "callers sign")
    page.click("text=Publish the current definition")
    eventually(host, "/orders/42", 401)

    step("authorizing the app and calling signed")
    page.goto(app_url)
    page.check("label.check:has-text('get_order') input")
    page.click("text=Authorize the chosen APIs")
    expect(page.locator("section[aria-labelledby=authorized] table")).to_contain_text("get_order")
    shot(page, "app")
    body = eventually(host, "/orders/42", 200, lambda: signed_headers(host, "/orders/42", app_key, app_secret))
    assert json.loads(body)["path"] == "/backend/orders/42", body
    assert call(host, "/orders/42", signed_headers(host, "/orders/42", app_key, "wrong" + app_secret[5:]))[0] == 401

    step("comparing the versions and switching back")
    page.goto(api_url)
    history = page.locator("section[aria-labelledby=published] table")
    expect(history.locator("tbody tr")).to_have_count(2)
    page.click("text=Show the differences")
    expect(page.locator("h1")).to_have_text("Compare versions")
    expect(page.locator("pre.diff del", has_text='"auth_type": "NONE"')).to_be_visible()
    expect(page.locator("pre.diff ins", has_text='"auth_type": "APP"')).to_be_visible()
    # Only what the user changed: no ids or save times.
    expect(page.locator("pre.diff del, pre.diff ins").filter(has_text="update_time")).to_have_count(0)
    expect(page.locator("pre.diff")).to_have_count(1)
    shot(page, "diff")
    page.goto(api_url)
    page.click("text=Make effective")
    expect(history.locator("tbody tr").filter(has_text="first release")).to_contain_text("effective")
    shot(page, "history")
    eventually(host, "/orders/42", 200)

    step("deleting the API")
    page.click("a.danger:text('Delete')")
    # Published: it is taken offline first.
    expect(page.locator("h1")).to_have_text("get_order is published")
    page.click("text=Take offline in RELEASE")
    expect(page.locator("h1")).to_have_text("Take get_order offline?")
    page.click("button:text('Take offline')")
    expect(page.locator("section[aria-labelledby=published]")).to_contain_text("Not published anywhere yet")
    eventually(host, "/orders/42", 404)
    page.click("a.danger:text('Delete')")
    expect(page.locator("h1")).to_have_text("Delete get_order?")
    page.click("button:text('Delete the API')")
    expect(page).to_have_url(re.compile(r"/console/apis$"))
    expect(page.locator("text=get_order")).to_have_count(0)
    shot(page, "apis")

    step("checking the other pages' labels")
    # The other pages a new user meets, labelled too.
    for path in ["/console/envs", "/console/throttles", "/console/acls", "/console/signs", "/console/channels",
                 "/console/authorizers", "/console/functions", "/console/openapi", "/console/apis/new", f"/console/groups/{group_id}"]:
        page.goto(CONSOLE + path)
        labelled(page)
    assert len(checked_pages) >= 19, checked_pages

    step("signing out")
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.goto(CONSOLE + "/console/apis")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))

    assert not foreign, f"requests to other hosts: {foreign}"
    assert not problems, f"errors in the browser: {problems}"
    browser.close()
    print("walkthrough done", flush=True)
