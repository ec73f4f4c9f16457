"""Interop with the Python `http-message-signatures` package (PyPI), both directions.

1. Python signs (hmac-sha256 and ed25519; with and without a body, with query parameters,
   with nonces) -> `keygate verify` must allow every request, and refuse a tampered copy.
2. `keygate sign` signs the same kinds of requests -> Python's HTTPMessageVerifier must
   accept every one (covered components and Content-Digest checked), and reject a tampered copy.

Usage: python py_interop.py KEYGATE_BINARY WORK_DIR
"""

import base64
import datetime
import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

KEYGATE = sys.argv[1]
WORK = Path(sys.argv[2]) / "py"
WORK.mkdir(parents=True, exist_ok=True)
HOST = "api.example.com"


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def keygate(*args, check=True):
    out = subprocess.run([KEYGATE, *args], capture_output=True)
    if check and out.returncode != 0:
        raise SystemExit(f"keygate {' '.join(args)} failed: {out.stderr.decode()}")
    return out


class Message:
    """The request interface the package reads: method, absolute url, headers."""

    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


def raw_http(msg, body):
    path = msg.url.split(HOST, 1)[1]
    lines = [f"{msg.method} {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{k}: {v}" for k, v in msg.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def parse_http(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() != "host":
            headers[name] = value.strip()
    return Message(method, f"https://{HOST}{target}", headers), body


# Keys from `keygate keygen`, and the key set that trusts them.
ed = json.loads(keygate("keygen", "ed25519").stdout)
hm = json.loads(keygate("keygen", "hmac").stdout)
(WORK / "ed.json").write_text(json.dumps(ed))
(WORK / "hm.json").write_text(json.dumps(hm))
keyset = {
    "keygate": 1,
    "revision": 1,
    "keys": [{"id": "ed-key", "signing": ed["signing"]}, {"id": "hm-key", "signing": hm["signing"]}],
}
(WORK / "keyset.json").write_text(json.dumps(keyset))
ed_private = Ed25519PrivateKey.from_private_bytes(b64url(ed["private_key"]))
hm_secret = b64url(hm["secret"])
resolver = MappingKeyResolver(
    public_keys={"ed-key": ed_private.public_key(), "hm-key": hm_secret},
    private_keys={"ed-key": ed_private, "hm-key": hm_secret},
)
ALGS = {"ed-key": algorithms.ED25519, "hm-key": algorithms.HMAC_SHA256}

CASES = [
    # (name, method, path and query, body, nonce, extra covered components)
    ("get-query", "GET", "/v1/orders?id=42&sort=asc", None, None, ["@authority", '"@query-param";name="id"']),
    ("post-body", "POST", "/v1/orders", b'{"qty": 2, "sku": "A-1"}', None, ["content-type"]),
    ("get-nonce", "GET", "/v1/orders/7", None, "py-nonce-1", ["@path", "@query"]),
    ("put-all", "PUT", "/v1/orders/7?dry=1", b"x" * 1000, "py-nonce-2", ["@scheme", "@request-target"]),
]

failures = 0


def check(ok, what):
    global failures
    print(("ok    " if ok else "FAIL  ") + what)
    failures += 0 if ok else 1


# 1. Python signs, keygate verifies.
now = datetime.datetime.now(datetime.timezone.utc)
for keyid in ("ed-key", "hm-key"):
    files = []
    for name, method, target, body, nonce, extra in CASES:
        headers = {"Content-Type": "application/json"} if body else {}
        msg = Message(method, f"https://{HOST}{target}", headers)
        signer = HTTPMessageSigner(signature_algorithm=ALGS[keyid], key_resolver=resolver)
        signer.sign(
            msg,
            key_id=keyid,
            created=now,
            nonce=nonce and f"{nonce}-{keyid}",
            label="py",
            covered_component_ids=["@method", "@target-uri", *extra],
            body=body,
        )
        path = WORK / f"{keyid}-{name}.http"
        path.write_bytes(raw_http(msg, body))
        files.append((name, path, body))
    args = ["verify", "--keyset", str(WORK / "keyset.json")]
    for _, path, _ in files:
        args += ["--request", str(path)]
    out = keygate(*args, check=False)
    decisions = [json.loads(line) for line in out.stdout.decode().splitlines()]
    for (name, _, _), d in zip(files, decisions):
        check(d.get("allowed") is True and d.get("key_id") == keyid, f"python signs {keyid} {name} -> keygate: {d}")
    check(len(decisions) == len(files), f"python signs {keyid}: {len(decisions)} decisions")
    # A tampered body is refused.
    name, path, body = files[1]
    tampered = path.read_bytes().replace(b'"qty": 2', b'"qty": 9')
    (WORK / "tampered.http").write_bytes(tampered)
    d = json.loads(keygate("verify", "--keyset", str(WORK / "keyset.json"), "--request", str(WORK / "tampered.http"), check=False).stdout)
    check(d.get("reason") == "digest_mismatch", f"python signs {keyid}, body tampered -> keygate refuses: {d.get('reason')}")

# 2. keygate signs, Python verifies.
for keyid, keyfile in (("ed-key", "ed.json"), ("hm-key", "hm.json")):
    for name, method, target, body, nonce, extra in CASES:
        headers = {"Content-Type": "application/json"} if body else {}
        unsigned = WORK / f"unsigned-{name}.http"
        unsigned.write_bytes(raw_http(Message(method, f"https://{HOST}{target}", headers), body))
        components = ["@method", "@target-uri", *(["content-digest"] if body else []), *[c.replace('"@query-param"', "@query-param") for c in extra]]
        args = ["sign", "--key", str(WORK / keyfile), "--keyid", keyid, "--request", str(unsigned), "--components", ",".join(components)]
        if nonce:
            args.append("--nonce")
        signed = keygate(*args).stdout
        msg, got_body = parse_http(signed)
        verifier = HTTPMessageVerifier(signature_algorithm=ALGS[keyid], key_resolver=resolver)
        try:
            results = verifier.verify(msg, require_components=["@method", "@target-uri"], body=got_body)
            ok = len(results) == 1 and results[0].parameters.get("keyid") == keyid
            ok = ok and (results[0].nonce is not None) == bool(nonce)
            check(ok, f"keygate signs {keyid} {name} -> python verifies (covered: {list(results[0].covered_components)})")
        except InvalidSignature as e:
            check(False, f"keygate signs {keyid} {name} -> python refused: {e!r}")
        # Tampered: a covered component changed.
        msg.method = "DELETE"
        try:
            verifier.verify(msg, body=got_body)
            check(False, f"keygate signs {keyid} {name}, method changed -> python accepted")
        except InvalidSignature:
            check(True, f"keygate signs {keyid} {name}, method changed -> python refuses")

print(f"python interop: {failures} failure(s)")
sys.exit(1 if failures else 0)
