"""Sealed key set secrets with Python `jwcrypto`, both directions.

1. jwcrypto seals an HMAC secret (JWE compact, dir + A256GCM) under a seal key made by
   `keygate keygen seal-key` -> `keygate keyset check --seal-key` loads the set and
   `keygate verify --seal-key` allows a request signed with that secret.
2. `keygate keyset seal` seals a set's clear secrets -> jwcrypto decrypts every one of them to
   exactly the clear secret it replaced.

Usage: python py_sealed.py KEYGATE_BINARY WORK_DIR
"""

import json
import subprocess
import sys
from pathlib import Path

from jwcrypto import jwe, jwk

KEYGATE = sys.argv[1]
WORK = Path(sys.argv[2]) / "py-sealed"
WORK.mkdir(parents=True, exist_ok=True)
failures = 0


def keygate(*args, expect=0):
    out = subprocess.run([KEYGATE, *map(str, args)], capture_output=True)
    if out.returncode != expect:
        raise SystemExit(f"keygate {' '.join(map(str, args))}: exit {out.returncode}: {out.stderr.decode()}")
    return out


def check(ok, what):
    global failures
    print(f"{'ok' if ok else 'FAIL'} py sealed: {what}")
    failures += not ok


keygate("keygen", "seal-key", "--kid", "seal-py", "--out", WORK / "seal.jwk")
key = jwk.JWK(**json.loads((WORK / "seal.jwk").read_text()))

# 1. jwcrypto seals, keygate opens.
hmac = json.loads(keygate("keygen", "hmac").stdout)
(WORK / "hmac.json").write_text(json.dumps(hmac))
token = jwe.JWE(hmac["key"].encode(), protected=json.dumps({"alg": "dir", "enc": "A256GCM", "kid": "seal-py"}))
token.add_recipient(key)
sealed = token.serialize(compact=True)
keyset = {"keygate": 1, "revision": 1, "keys": [{"id": "hm", "signing": {"alg": "hmac-sha256", "sealed": sealed}}]}
(WORK / "ks.json").write_text(json.dumps(keyset))
keygate("keyset", "check", WORK / "ks.json", "--seal-key", WORK / "seal.jwk")
check(True, "keyset check --seal-key loads a set sealed by jwcrypto")
(WORK / "req.http").write_bytes(b"GET /v1/orders HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
signed = keygate("sign", "--key", WORK / "hmac.json", "--keyid", "hm", "--request", WORK / "req.http").stdout
(WORK / "signed.http").write_bytes(signed)
d = json.loads(keygate("verify", "--keyset", WORK / "ks.json", "--seal-key", WORK / "seal.jwk", "--request", WORK / "signed.http").stdout)
check(d["allowed"] is True and d["key_id"] == "hm", "verify allows a request signed with the secret jwcrypto sealed")

# 2. keygate seals, jwcrypto opens.
keygate("keyset", "new", WORK / "clear.json")
for i in "ab":
    keygate("keyset", "add", WORK / "clear.json", "--id", i, "--signing", "hmac-sha256", "--out", WORK / f"{i}.json")
clear = json.loads((WORK / "clear.json").read_text())
keygate("keyset", "seal", WORK / "clear.json", "--seal-key", WORK / "seal.jwk")
after = json.loads((WORK / "clear.json").read_text())
for before, entry in zip(clear["keys"], after["keys"]):
    t = jwe.JWE()
    t.deserialize(entry["signing"]["sealed"], key=key)
    header = json.loads(t.objects["protected"])
    check(
        t.payload.decode() == before["signing"]["secret"] and header["kid"] == "seal-py",
        f"jwcrypto opens keyset seal's JWE for key {entry['id']}",
    )
sys.exit(1 if failures else 0)
