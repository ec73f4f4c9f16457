#!/usr/bin/env bash
# Interop, both directions, against independent implementations installed from the
# registries (pinned in requirements.txt into tests/interop/.venv, and in package.json and
# package-lock.json into tests/interop/node_modules): RFC 9421 with Python and npm
# `http-message-signatures`; sealed key set secrets (JWE) with Python `jwcrypto` and npm
# `jose`; Standard Webhooks with the Python and npm `standardwebhooks` reference libraries
# (v1), and v1a by the specification's construction (`cryptography`, node:crypto). Needs
# python3 with venv, node and npm.
#
#   tests/interop/run.sh            # builds the CLI (debug) unless KEYGATE points at a binary
#   KEYGATE=target/release/keygate tests/interop/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ -z "${KEYGATE:-}" ]; then
  cargo build --quiet --manifest-path "$root/Cargo.toml" --features cli --bin keygate
  KEYGATE="$root/target/debug/keygate"
fi
KEYGATE="$(cd "$(dirname "$KEYGATE")" && pwd)/$(basename "$KEYGATE")"

if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

if [ ! -d "$here/node_modules/http-message-signatures" ] || [ ! -d "$here/node_modules/jose" ] || [ ! -d "$here/node_modules/standardwebhooks" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
"$here/.venv/bin/python" "$here/py_interop.py" "$KEYGATE" "$work" || status=1
node "$here/js_interop.mjs" "$KEYGATE" "$work" || status=1
"$here/.venv/bin/python" "$here/py_sealed.py" "$KEYGATE" "$work" || status=1
node "$here/js_sealed.mjs" "$KEYGATE" "$work" || status=1
"$here/.venv/bin/python" "$here/py_webhooks.py" "$KEYGATE" "$work" || status=1
node "$here/js_webhooks.mjs" "$KEYGATE" "$work" || status=1
if [ "$status" -ne 0 ]; then
  echo "interop: FAILED" >&2
fi
exit "$status"
