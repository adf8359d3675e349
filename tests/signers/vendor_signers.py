"""Signs requests with the vendors' own Python signers from PyPI and sends
them to a Causeway gateway; prints {case: status} as JSON for the Rust test.

usage: vendor_signers.py GATEWAY_URL HOST PATH APP_KEY APP_SECRET
"""
import json
import sys
import urllib.error
import urllib.request

from apigateway_sdk_python import signer as pypi_signer
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer as CoreSigner

gateway, host, path, key, secret = sys.argv[1:6]
body = '{"item": "book", "qty": 2}'


def send(method, uri, headers, data):
    req = urllib.request.Request(gateway + uri, data=data if data else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def pypi(secret_used, tamper=None, stage="RELEASE"):
    s = pypi_signer.Signer()
    s.Key, s.Secret = key, secret_used
    r = pypi_signer.HttpRequest("POST", f"http://{host}{path}?b=2&a=1&a=0",
                                {"Content-Type": "application/json", "X-Stage": stage}, body)
    s.Sign(r)
    headers, uri, data = dict(r.headers), r.uri, r.body
    if tamper == "body":
        data = b'{"item": "bool", "qty": 2}'  # same length: Content-Length was signed
    elif tamper == "path":
        uri = uri.replace(path, path + "x", 1)
    elif tamper == "header":
        headers["X-Stage"] = "release"
    elif tamper == "date":
        headers["X-Sdk-Date"] = "20200101T000000Z"
    return send("POST", uri, headers, data)


def core(secret_used, tamper=None):
    r = SdkRequest(method="POST", schema="http", host=host, resource_path=path,
                   query_params=[("b", "2"), ("a", "1")], header_params={"Content-Type": "application/json"}, body=body)
    CoreSigner(BasicCredentials(key, secret_used)).sign(r)
    headers, data = dict(r.header_params), r.body
    if tamper == "body":
        data = b'{"item": "bool", "qty": 2}'
    return send("POST", r.uri, headers, data)


print(json.dumps({
    "pypi": pypi(secret),
    "pypi_wrong_secret": pypi(secret + "x"),
    "pypi_body": pypi(secret, "body"),
    "pypi_path": pypi(secret, "path"),
    "pypi_header": pypi(secret, "header"),
    "pypi_date": pypi(secret, "date"),
    "pypi_other_env": pypi(secret, stage="STAGING"),
    "core": core(secret),
    "core_wrong_secret": core(secret + "x"),
    "core_body": core(secret, "body"),
}))
