"""Regenerates tests/vectors/webhooks/{keyset,requests}.json (and keysets/valid_webhooks.json): Standard Webhooks deliveries and
the decisions keygate must make on them. Every signature is computed here, independently of
keygate: v1 with Python's `hmac` (HMAC-SHA256 over `id.timestamp.body`, standard base64), v1a
with `cryptography`'s Ed25519. The expectations are written by hand, case by case.
Run from the repository root:
    python3 -m venv /tmp/v && /tmp/v/bin/pip install cryptography
    /tmp/v/bin/python tests/tools/make_webhook_vectors.py
"""

import base64
import calendar
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

NOW = "2026-11-29T12:00:00Z"
T = calendar.timegm(time.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ"))
B64 = lambda b: base64.b64encode(b).decode()
L = 2**252 + 27742317777372353535851937790883648493

# The published test secret of the reference libraries, and fixed test secrets (never real).
SECRETS = {
    "svix-a": base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    "svix-b": bytes(range(1, 33)),
    "old": bytes([0x33] * 32),
    "revoked": bytes([0x44] * 32),
    "expired": bytes([0x55] * 40),
    "office": bytes([0x66] * 32),
    "limited": bytes([0x77] * 24),
}
SEEDS = {"acme": bytes([0x11] * 32), "acme-b": bytes([0x22] * 32)}
ED = {k: Ed25519PrivateKey.from_private_bytes(s) for k, s in SEEDS.items()}


def pub(k):
    return ED[k].public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def v1(key, msg_id, ts, body):
    return "v1," + B64(hmac.new(SECRETS[key], f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest())


def v1a(key, msg_id, ts, body):
    return "v1a," + B64(ED[key].sign(f"{msg_id}.{ts}.".encode() + body))


def v1a_s_plus_l(key, msg_id, ts, body):
    sig = ED[key].sign(f"{msg_id}.{ts}.".encode() + body)
    s = int.from_bytes(sig[32:], "little") + L
    return "v1a," + B64(sig[:32] + s.to_bytes(32, "little"))


keyset = {
    "keygate": 1,
    "revision": 1,
    "policy": {"clock_skew_seconds": 30, "max_signature_age_seconds": 300, "default_route": "deny"},
    "deny_cidrs": ["198.51.100.0/24"],
    "routes": [
        {"methods": ["POST"], "path": "/hooks/svix", "webhook_keys": ["svix-a", "svix-b"]},
        {"methods": ["POST"], "path": "/hooks/states", "webhook_keys": ["old", "revoked", "expired", "office", "svix-a"]},
        {"methods": ["POST"], "path": "/hooks/acme", "webhook_keys": ["acme", "acme-b"]},
        {"methods": ["POST"], "path": "/hooks/scoped", "webhook_keys": ["limited", "svix-b"], "scopes": ["events:write"]},
        {"path": "/api/**", "scopes": ["api"]},
    ],
    "keys": [
        {"id": "svix-a", "webhook": {"secret": "whsec_" + B64(SECRETS["svix-a"])}, "scopes": ["events:write"]},
        {"id": "svix-b", "webhook": {"secret": "whsec_" + B64(SECRETS["svix-b"])}, "scopes": ["events:write"]},
        {"id": "old", "status": "disabled", "webhook": {"secret": "whsec_" + B64(SECRETS["old"])}},
        {"id": "revoked", "status": "revoked", "webhook": {"secret": "whsec_" + B64(SECRETS["revoked"])}},
        {"id": "expired", "expires_at": "2026-11-01T00:00:00Z", "webhook": {"secret": "whsec_" + B64(SECRETS["expired"]).rstrip("=")}},
        {"id": "office", "allow_cidrs": ["203.0.113.0/24"], "webhook": {"secret": "whsec_" + B64(SECRETS["office"])}},
        {"id": "limited", "scopes": ["events:read"], "webhook": {"secret": "whsec_" + B64(SECRETS["limited"])}},
        {"id": "acme", "webhook": {"public_key": "whpk_" + B64(pub("acme"))}, "scopes": ["events:write"]},
        {"id": "acme-b", "webhook": {"public_key": "whpk_" + B64(pub("acme-b"))}},
        {"id": "api", "api_key_hash": "sha256:" + base64.urlsafe_b64encode(hashlib.sha256(b"api-key-for-webhook-tests").digest()).rstrip(b"=").decode(), "scopes": ["api"]},
    ],
}

cases = []
n = [0]


def delivery(path, sig, body=b'{"type":"invoice.paid"}', msg_id=None, ts=None, extra=(), headers=None):
    """A POST delivery; `sig(id, ts, body)` makes the webhook-signature value."""
    n[0] += 1
    msg_id = msg_id if msg_id is not None else f"msg_case{n[0]:03d}"
    ts = T if ts is None else ts
    h = headers if headers is not None else [
        ["webhook-id", msg_id],
        ["webhook-timestamp", str(ts)],
        ["webhook-signature", sig(msg_id, ts, body)],
    ]
    req = {"method": "POST", "url": f"https://api.example.com{path}", "headers": [["content-type", "application/json"], *h, *extra]}
    try:
        req["body"] = body.decode()
    except UnicodeDecodeError:
        req["body_base64"] = B64(body)
    return req


def allowed(key, scopes, scheme):
    """An allowed decision; with a scheme, also the delivery it carries (filled in below)."""
    e = {"allowed": True, "status": 200, "key_id": key, "scopes": scopes}
    if scheme:
        e["webhook"] = {"scheme": scheme}
    return e


def refused(reason, status=401, key=None):
    return {"allowed": False, "status": status, "reason": reason, "key_id": key}


def case(name, request, expect, client_ip=None, **more):
    c = {"name": name, "request": request, "client_ip": client_ip, "expect": expect}
    c.update(more)
    cases.append(c)
    return c


def one(key, f=v1):
    return lambda i, t, b: f(key, i, t, b)


EV = ["events:write"]
# Deliveries that pass.
case("v1: the reference secret signs a delivery", delivery("/hooks/svix", one("svix-a")), allowed("svix-a", EV, "v1"))
case("v1: the second listed key", delivery("/hooks/svix", one("svix-b")), allowed("svix-b", EV, "v1"))
case("rotation: a stale token first, the current one second", delivery("/hooks/svix", lambda i, t, b: "v1," + B64(bytes(32)) + " " + v1("svix-b", i, t, b)), allowed("svix-b", EV, "v1"))
case("rotation: both keys' tokens; the first listed key decides", delivery("/hooks/svix", lambda i, t, b: v1("svix-b", i, t, b) + " " + v1("svix-a", i, t, b)), allowed("svix-a", EV, "v1"))
case("forward compatible: an unknown version beside a v1 token is ignored", delivery("/hooks/svix", lambda i, t, b: "v2,c29tZXRoaW5nIG5ldw== " + v1("svix-a", i, t, b)), allowed("svix-a", EV, "v1"))
case("runs of spaces between tokens", delivery("/hooks/svix", lambda i, t, b: "v1," + B64(bytes(32)) + "   " + v1("svix-a", i, t, b)), allowed("svix-a", EV, "v1"))
case("an empty body", delivery("/hooks/svix", one("svix-a"), body=b""), allowed("svix-a", EV, "v1"))
case("a body that is not UTF-8 is signed as bytes", delivery("/hooks/svix", one("svix-b"), body=bytes([0xff, 0xfe, 0x00, 0x80, 0x7b])), allowed("svix-b", EV, "v1"))
case("timestamp at the edge of the window (max age + skew)", delivery("/hooks/svix", one("svix-a"), ts=T - 330), allowed("svix-a", EV, "v1"))
case("timestamp at the edge of the skew ahead", delivery("/hooks/svix", one("svix-a"), ts=T + 30), allowed("svix-a", EV, "v1"))
case("an id of 256 visible ASCII characters", delivery("/hooks/svix", one("svix-a"), msg_id="x" * 200 + "!#$%&'*+-/0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`ab~"[:56]), allowed("svix-a", EV, "v1"))
case("v1a: Ed25519", delivery("/hooks/acme", one("acme", v1a)), allowed("acme", EV, "v1a"))
case("v1a: the second listed key", delivery("/hooks/acme", one("acme-b", v1a)), allowed("acme-b", [], "v1a"))
case("v1a: rotation with two tokens", delivery("/hooks/acme", lambda i, t, b: v1a("acme-b", i, t, b) + " " + v1a("acme", i, t, b)), allowed("acme", EV, "v1a"))
# Replay and retry (the runner keeps one verifier per file, so these cases see each other).
replayed = delivery("/hooks/svix", one("svix-a"), msg_id="msg_replayed")
case("replay: a delivery accepted once", replayed, allowed("svix-a", EV, "v1"))
case("replay: the same delivery again", replayed, refused("nonce_replayed", key="svix-a"))
case("retry: the same id with a new timestamp and signature is a new delivery", delivery("/hooks/svix", one("svix-a"), msg_id="msg_replayed", ts=T - 5), allowed("svix-a", EV, "v1"))
# Proof before disclosure: forgeries get one answer, whatever the keys listed.
case("forged token on a route listing disabled, revoked, expired and network-bound keys", delivery("/hooks/states", lambda i, t, b: "v1," + B64(hashlib.sha256(b"forged").digest())), refused("signature_invalid"))
case("tampered body", {**delivery("/hooks/svix", one("svix-a")), "body": '{"type":"invoice.refunded"}'}, refused("signature_invalid"))
case("a token for another id", delivery("/hooks/svix", lambda i, t, b: v1("svix-a", "msg_other", t, b)), refused("signature_invalid"))
case("a token for another timestamp", delivery("/hooks/svix", lambda i, t, b: v1("svix-a", i, t - 1, b)), refused("signature_invalid"))
case("a key of another route", delivery("/hooks/svix", one("office")), refused("signature_invalid"))
case("v1 token on a v1a route", delivery("/hooks/acme", one("svix-a")), refused("signature_invalid"))
case("v1a tampered body", {**delivery("/hooks/acme", one("acme", v1a)), "body": "{}"}, refused("signature_invalid"))
case("v1a non-canonical S (S + L): strict verification refuses it", delivery("/hooks/acme", one("acme", v1a_s_plus_l)), refused("signature_invalid"))
# After proof: precise reasons, naming the key.
case("a valid token of a disabled key", delivery("/hooks/states", one("old")), refused("key_disabled", key="old"))
case("a valid token of a revoked key", delivery("/hooks/states", one("revoked")), refused("key_revoked", key="revoked"))
case("a valid token of an expired key", delivery("/hooks/states", one("expired")), refused("key_expired", key="expired"))
case("a network-bound key from an unknown address", delivery("/hooks/states", one("office")), refused("ip_not_allowed", 403, "office"))
case("a network-bound key from its network", delivery("/hooks/states", one("office")), allowed("office", [], "v1"), client_ip="203.0.113.9")
case("a proven active key wins over a proven disabled one listed first", delivery("/hooks/states", lambda i, t, b: v1("old", i, t, b) + " " + v1("svix-a", i, t, b)), allowed("svix-a", EV, "v1"))
case("the route's scopes: a key without them", delivery("/hooks/scoped", one("limited")), refused("scope_missing", 403, "limited"))
case("the route's scopes: a key with them", delivery("/hooks/scoped", one("svix-b")), allowed("svix-b", EV, "v1"))
case("the key set's deny list comes first", delivery("/hooks/svix", one("svix-a")), refused("ip_denied", 403), client_ip="198.51.100.7")
# Time.
case("older than max age + skew", delivery("/hooks/svix", one("svix-a"), ts=T - 331), refused("signature_too_old"))
case("further ahead than the skew", delivery("/hooks/svix", one("svix-a"), ts=T + 31), refused("signature_in_future"))
# Malformed deliveries.
case("no webhook fields on a webhook route", delivery("/hooks/svix", None, headers=[]), refused("signature_required"))
case("an API key on a webhook route is not examined", delivery("/hooks/svix", None, headers=[["authorization", "Bearer api-key-for-webhook-tests"]]), refused("signature_required"))
case("only webhook-id", delivery("/hooks/svix", None, headers=[["webhook-id", "msg_1"]]), refused("malformed_credentials"))
case("webhook-signature missing", delivery("/hooks/svix", None, headers=[["webhook-id", "msg_1"], ["webhook-timestamp", str(T)]]), refused("malformed_credentials"))
for label, bad_id in [("a '.' in the id (id.timestamp.body would be ambiguous)", "msg.1"), ("a space in the id", "msg 1"), ("an id of 257 characters", "x" * 257)]:
    case(f"webhook-id: {label}", delivery("/hooks/svix", one("svix-a"), msg_id=bad_id), refused("malformed_credentials"))
for label, bad_ts in [("a sign", "+" + str(T)), ("a leading zero", "0" + str(T)), ("a fraction", f"{T}.0"), ("13 digits", "1" + "0" * 12), ("negative", "-" + str(T))]:
    h = [["webhook-id", f"msg_ts{len(cases)}"], ["webhook-timestamp", bad_ts], ["webhook-signature", v1("svix-a", f"msg_ts{len(cases)}", T, b'{"type":"invoice.paid"}')]]
    case(f"webhook-timestamp: {label}", delivery("/hooks/svix", None, headers=h), refused("malformed_credentials"))
case("a token with a trailing comma only", delivery("/hooks/svix", lambda i, t, b: "v1,"), refused("malformed_credentials"))
case("unpadded base64: unusable", delivery("/hooks/svix", lambda i, t, b: v1("svix-a", i, t, b).rstrip("=")), refused("malformed_credentials"))
case("base64url: unusable", delivery("/hooks/svix", lambda i, t, b: v1("svix-a", i, t, b).replace("+", "-").replace("/", "_")), refused("malformed_credentials"))
case("only a v2 token", delivery("/hooks/svix", lambda i, t, b: "v2," + B64(bytes(32))), refused("malformed_credentials"))
case("nine tokens", delivery("/hooks/svix", lambda i, t, b: " ".join([v1("svix-a", i, t, b)] * 9)), refused("malformed_credentials"))
case("more Ed25519 verifications than the bound (5 tokens x 2 keys)", delivery("/hooks/acme", lambda i, t, b: " ".join([v1a("acme", i, t, b)] * 5)), refused("malformed_credentials"))
case("a repeated webhook-id field", delivery("/hooks/svix", None, headers=[["webhook-id", "msg_a"], ["webhook-id", "msg_b"], ["webhook-timestamp", str(T)], ["webhook-signature", v1("svix-a", "msg_a", T, b'{"type":"invoice.paid"}')]]), refused("malformed_credentials"))
# Spellings other verifiers read another way (checked: each refused, or read as keygate signs).
case("webhook-timestamp: an exponent", delivery("/hooks/svix", None, headers=[["webhook-id", "msg_exp"], ["webhook-timestamp", "1.795953600e9"], ["webhook-signature", v1("svix-a", "msg_exp", T, b'{"type":"invoice.paid"}')]]), refused("malformed_credentials"))
case("webhook-timestamp: 12 digits, far in the future", delivery("/hooks/svix", one("svix-a"), ts=999999999999), refused("signature_in_future"))
case("webhook-signature: the version in capitals (V1) is no known version", delivery("/hooks/svix", lambda i, t, b: v1("svix-a", i, t, b).replace("v1,", "V1,")), refused("malformed_credentials"))
case("webhook-signature: a tab between tokens does not separate them", delivery("/hooks/svix", lambda i, t, b: "v1," + B64(bytes(32)) + "\t" + v1("svix-a", i, t, b)), refused("malformed_credentials"))
case("webhook-signature: two fields folded into one (', '): the token ending in ',' is unusable, the other verifies", delivery("/hooks/svix", lambda i, t, b: v1("svix-a", i, t, b) + ", " + v1("svix-a", i, t, b)), allowed("svix-a", EV, "v1"))
case("svix-id, svix-timestamp, svix-signature beside the webhook fields are not read (only webhook-* is verified)", delivery("/hooks/svix", one("svix-a"), extra=[["svix-id", "msg_other"], ["svix-timestamp", str(T)], ["svix-signature", "v1," + B64(bytes(32))]]), allowed("svix-a", EV, "v1"))
case("svix-* fields alone on a webhook route are no delivery", delivery("/hooks/svix", None, headers=[["svix-id", "msg_svix"], ["svix-timestamp", str(T)], ["svix-signature", v1("svix-a", "msg_svix", T, b'{"type":"invoice.paid"}')]]), refused("signature_required"))
# Routes read every way an origin may read them.
case("another letter case reaches the webhook rule for case-blind origins and no rule for the others: deny, after proof", delivery("/HOOKS/SVIX", one("svix-a")), refused("route_denied", 403, "svix-a"))
case("an API key on the webhook route in another case: still webhook-only", delivery("/Hooks/Svix", None, headers=[["authorization", "Bearer api-key-for-webhook-tests"]]), refused("signature_required"))
case("a method override a POST-only rule does not cover falls to deny", delivery("/hooks/svix", one("svix-a"), extra=[["x-http-method-override", "DELETE"]]), refused("route_denied", 403, "svix-a"))
# Elsewhere webhook fields mean nothing.
api = delivery("/api/x", one("svix-a"), extra=[["authorization", "Bearer api-key-for-webhook-tests"]])
case("webhook fields beside an API key on another route are ignored", api, allowed("api", ["api"], None))
case("webhook fields alone on another route are no credentials", delivery("/api/x", one("svix-a")), refused("missing_credentials"))

for c in cases:
    c["expect"].setdefault("key_id", None)
    w = c["expect"].get("webhook")
    if w is not None:
        h = dict((k, v) for k, v in c["request"]["headers"])
        w["id"], w["timestamp"] = h["webhook-id"], int(h["webhook-timestamp"])

doc = {
    "_comment": "Standard Webhooks 1.0.0 deliveries, signed independently of keygate by tests/tools/make_webhook_vectors.py (Python hmac and cryptography); one verifier per file, so the replay cases see the cases before them.",
    "keyset": "keyset.json",
    "now": NOW,
    "cases": cases,
}
# The same set among the key set vectors, so the schema and every loader check it too.
for path in ["tests/vectors/webhooks/keyset.json", "tests/vectors/keysets/valid_webhooks.json"]:
    with open(path, "w") as f:
        json.dump(keyset, f, indent=2)
        f.write("\n")
with open("tests/vectors/webhooks/requests.json", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(len(cases), "cases")
