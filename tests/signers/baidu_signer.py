"""Signs requests with Baidu's own Python SDK (bce-python-sdk from PyPI, its
bce_v1_signer) and sends them to a Causeway gateway; prints {case: status}
as JSON for the Rust test.

usage: baidu_signer.py GATEWAY_URL HOST PATH APP_KEY APP_SECRET
"""
import json
import sys
import time
import urllib.error
import urllib.request

from baidubce import utils
from baidubce.auth import bce_v1_signer
from baidubce.auth.bce_credentials import BceCredentials

gateway, host, path, key, secret = sys.argv[1:6]
body = b'{"item": "book", "qty": 2}'
params = {b"b": b"2", b"a": b"1", b"name": "中文 x".encode()}


def send(uri, headers):
    req = urllib.request.Request(gateway + uri, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def case(secret_used=secret, tamper=None, listed=None, where="X-Bce-Signature", when=0):
    now = int(time.time()) + when
    headers = {
        b"Host": host.encode(),
        b"Content-Type": b"application/json",
        b"Content-Length": str(len(body)).encode(),
        b"x-bce-date": utils.get_canonical_time(now),
    }
    signed_path = utils.normalize_string(path, False)
    auth = bce_v1_signer.sign(BceCredentials(key, secret_used), b"POST", signed_path, headers, params,
                              timestamp=now, expiration_in_seconds=1800, headers_to_sign=listed)
    sent = {k.decode(): v.decode() for k, v in headers.items()}
    sent[where] = auth.decode()
    sent_path, sent_params = signed_path.decode(), dict(params)
    if tamper == "path":
        sent_path = sent_path[:-1] + "9"
    elif tamper == "query":
        sent_params[b"b"] = b"3"
    elif tamper == "signed_header":
        sent["x-bce-date"] = utils.get_canonical_time(now + 1).decode()
    elif tamper == "unsigned_header":
        sent["X-Custom"] = "added after signing"
    return send(sent_path + "?" + utils.get_canonical_querystring(sent_params, False).decode(), sent)


print(json.dumps({
    "default_headers": case(),
    "listed_headers": case(listed=[b"host", b"x-bce-date"]),
    "authorization_header": case(where="Authorization"),
    "wrong_secret": case(secret_used=secret + "x"),
    "path": case(tamper="path"),
    "query": case(tamper="query"),
    "signed_header": case(tamper="signed_header"),
    "unsigned_header": case(tamper="unsigned_header", listed=[b"host", b"x-bce-date"]),
    "expired": case(when=-3600),
    "ahead": case(when=3600),
}))
