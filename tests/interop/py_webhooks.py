"""Standard Webhooks with the Python reference library `standardwebhooks` (PyPI), both ways,
and v1a against the specification's construction with `cryptography` (no reference library
verifies v1a).

1. The library signs deliveries (a keygate-made secret; a 24-byte secret of the kind providers
   hand out, registered from stdin) -> `keygate verify` allows them, and refuses a tampered
   body, a replay and a delivery older than the window.
2. `keygate sign --webhook` (one key, two keys, a body that is not UTF-8) -> the library's
   verify accepts it with each key, and refuses a tampered copy.
3. v1a: Ed25519 over `id.timestamp.body` made with `cryptography` from keygate's whsk_ seed ->
   keygate allows it; keygate's v1a token verifies with `cryptography` under the whpk_ key.

Usage: python py_webhooks.py KEYGATE_BINARY WORK_DIR
"""

import base64
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from standardwebhooks import Webhook, WebhookVerificationError

KEYGATE = sys.argv[1]
WORK = Path(sys.argv[2]) / "py-webhooks"
WORK.mkdir(parents=True, exist_ok=True)
failures = 0
n = [0]


def keygate(*args, stdin=None, expect=0):
    out = subprocess.run([KEYGATE, *map(str, args)], capture_output=True, input=stdin)
    if expect is not None and out.returncode != expect:
        raise SystemExit(f"keygate {' '.join(map(str, args))}: exit {out.returncode}: {out.stderr.decode()}")
    return out


def check(ok, what):
    global failures
    print(f"{'ok' if ok else 'FAIL'} py webhooks: {what}")
    failures += not ok


def raw(headers, body):
    lines = ["POST /hooks HTTP/1.1", "Host: api.example.com", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def decide(*requests):
    paths = []
    for r in requests:
        n[0] += 1
        p = WORK / f"req{n[0]}.http"
        p.write_bytes(r)
        paths += ["--request", p]
    out = keygate("verify", "--keyset", WORK / "ks.json", *paths, expect=None)
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def headers_of(http):
    head = http.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    return dict(line.split(": ", 1) for line in head)


keygate("keyset", "new", WORK / "ks.json")
ours = json.loads(keygate("keyset", "add", WORK / "ks.json", "--id", "ours", "--webhook", "v1", "--webhook-route", "/hooks").stdout)
provider = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
keygate("keyset", "add", WORK / "ks.json", "--id", "provider", "--webhook-secret-file", "-", "--webhook-route", "/hooks", stdin=provider.encode())
v1a = json.loads(keygate("keyset", "add", WORK / "ks.json", "--id", "signer", "--webhook", "v1a", "--webhook-route", "/hooks").stdout)

# 1. The library signs, keygate verifies.
body = b'{"type":"invoice.paid","amount":1200}'
for name, secret in [("a keygate-made secret", ours["webhook_key"]), ("a provider's 24-byte secret", provider)]:
    wh = Webhook(secret)
    now = datetime.now(timezone.utc)
    msg_id = f"msg_py_{name.split()[1]}"
    h = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": wh.sign(msg_id, now, body)}
    first, replay = decide(raw(h, body), raw(h, body))
    check(first["allowed"] and replay.get("reason") == "nonce_replayed", f"library-signed delivery with {name} passes once ({first.get('key_id')}), a replay is refused")
    (tampered,) = decide(raw(h, body.replace(b"1200", b"9999")))
    check(tampered.get("reason") == "signature_invalid", f"{name}: a tampered body is refused")
    old = now - timedelta(seconds=600)
    h_old = {"webhook-id": msg_id + "_old", "webhook-timestamp": str(int(old.timestamp())), "webhook-signature": wh.sign(msg_id + "_old", old, body)}
    (too_old,) = decide(raw(h_old, body))
    check(too_old.get("reason") == "signature_too_old", f"{name}: a delivery 10 minutes old is refused")

# 2. keygate signs, the library verifies.
(WORK / "ours.json").write_text(json.dumps(ours))
(WORK / "provider.key").write_text(provider)
template = b"POST /hooks HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/octet-stream\r\n\r\n"
for label, payload, keys in [
    ("one key", body, ["ours.json"]),
    ("two keys", body, ["ours.json", "provider.key"]),
    ("a body that is not UTF-8", bytes([0xFF, 0x00, 0xC3, 0x28, 0x80]), ["provider.key"]),
]:
    (WORK / "plain.http").write_bytes(template + payload)
    args = [a for k in keys for a in ("--key", WORK / k)]
    signed = keygate("sign", "--webhook", *args, "--request", WORK / "plain.http").stdout
    h = headers_of(signed)
    for k in keys:
        secret = ours["webhook_key"] if k == "ours.json" else provider
        try:
            Webhook(secret).verify(payload, h, json_parse=False)
            ok = True
        except WebhookVerificationError:
            ok = False
        check(ok, f"keygate sign --webhook ({label}) verifies with {k}")
    try:
        Webhook(provider if keys == ["provider.key"] else ours["webhook_key"]).verify(payload + b"!", h, json_parse=False)
        check(False, f"{label}: a tampered copy is refused by the library")
    except WebhookVerificationError:
        check(True, f"{label}: a tampered copy is refused by the library")

# 3. v1a by the specification's construction.
seed = base64.b64decode(v1a["webhook_key"][len("whsk_"):])
sk = Ed25519PrivateKey.from_private_bytes(seed)
now = int(datetime.now(timezone.utc).timestamp())
token = "v1a," + base64.b64encode(sk.sign(f"msg_v1a.{now}.".encode() + body)).decode()
(d,) = decide(raw({"webhook-id": "msg_v1a", "webhook-timestamp": str(now), "webhook-signature": token}, body))
check(d["allowed"] and d["key_id"] == "signer" and d["webhook"]["scheme"] == "v1a", "a v1a token made with cryptography passes keygate")
(WORK / "v1a.key").write_text(v1a["webhook_key"])
(WORK / "plain.http").write_bytes(template + body)
h = headers_of(keygate("sign", "--webhook", "--key", WORK / "v1a.key", "--request", WORK / "plain.http").stdout)
pk = Ed25519PublicKey.from_public_bytes(base64.b64decode(v1a["webhook"]["public_key"][len("whpk_"):]))
version, sig = h["webhook-signature"].split(",", 1)
msg = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + body
try:
    pk.verify(base64.b64decode(sig), msg)
    ok = version == "v1a"
except InvalidSignature:
    ok = False
check(ok, "keygate's v1a token verifies with cryptography over id.timestamp.body")
sys.exit(1 if failures else 0)
