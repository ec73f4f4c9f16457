"""Regenerates tests/vectors/sealed/jwcrypto.json: sealed key set secrets (JWE compact, alg
"dir", enc "A256GCM") made by an independent JOSE implementation, Python's `jwcrypto`, with the
seal keys of jose.json (so one key set of keys opens both files). Run from the repository root:
    python3 -m venv /tmp/v && /tmp/v/bin/pip install jwcrypto==1.6.1
    /tmp/v/bin/python tests/tools/make_sealed_vectors.py
"""

import base64
import json
from importlib.metadata import version

from jwcrypto import jwe, jwk

keys = json.load(open("tests/vectors/sealed/jose.json"))["seal_keys"]["keys"]
k1, k2 = (jwk.JWK(**k) for k in keys)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


secret40 = b64url(bytes((i * 11 + 5) & 0xFF for i in range(40)))
secret1024 = b64url(bytes((i * 3) & 0xFF for i in range(1024)))


def seal(text, header, key):
    token = jwe.JWE(text.encode(), protected=json.dumps(header))
    token.add_recipient(key)
    return token.serialize(compact=True)


valid = []
for name, text, header, key in [
    ("alg, enc, kid", secret40, {"alg": "dir", "enc": "A256GCM", "kid": keys[0]["kid"]}, k1),
    ("1024-byte secret, kid of the second key", secret1024, {"enc": "A256GCM", "alg": "dir", "kid": keys[1]["kid"]}, k2),
    ("typ JWE", secret40, {"typ": "JWE", "alg": "dir", "enc": "A256GCM", "kid": keys[1]["kid"]}, k2),
]:
    valid.append({"name": name, "kid": header["kid"], "plaintext": text, "sealed": seal(text, header, key)})

k128 = jwk.JWK(kty="oct", k=b64url(bytes(16)), kid="seal-128")
invalid = [
    {
        "name": "enc A128GCM",
        "sealed": seal(secret40, {"alg": "dir", "enc": "A128GCM", "kid": "seal-128"}, k128),
        "contains": 'enc "A128GCM" is not supported',
    },
    {
        "name": "zip DEF (a compressed plaintext)",
        "sealed": seal(secret40, {"alg": "dir", "enc": "A256GCM", "kid": keys[0]["kid"], "zip": "DEF"}, k1),
        "contains": '"zip"',
    },
    {
        "name": "alg A256KW (a wrapped key)",
        "sealed": seal(secret40, {"alg": "A256KW", "enc": "A256GCM", "kid": keys[0]["kid"]}, k1),
        "contains": 'alg "A256KW" is not supported',
    },
]

doc = {
    "_comment": f"JWE compact (RFC 7516) sealed secrets made by Python jwcrypto {version('jwcrypto')} "
    "(tests/tools/make_sealed_vectors.py), with jose.json's seal keys; plaintext is the clear field's text",
    "seal_keys": {"keys": keys},
    "valid": valid,
    "invalid": invalid,
}
with open("tests/vectors/sealed/jwcrypto.json", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(len(valid), "valid,", len(invalid), "invalid")
