#!/usr/bin/env bash
# What `make test` needs from the system that cargo and npm do not bring: Debian's Chromium
# (the browser tests; chromium-driver comes with it) and python3-venv (the interop tests make a
# Python venv). Missing packages are installed with apt-get when running as root; otherwise
# this stops, naming what is missing and the one command that installs it.
#
#   scripts/system-deps.sh [browser] [python]     (no argument: both)
#
# CHROMIUM (default /usr/bin/chromium) is the browser the tests launch; PYTHON (default
# python3) the interpreter the interop tests use.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
PYTHON="${PYTHON:-python3}"
[ $# -gt 0 ] || set -- browser python

packages=()
reasons=()
check() {
  packages=()
  reasons=()
  for want in "$@"; do
    case "$want" in
      browser)
        if [ ! -x "$CHROMIUM" ]; then
          packages+=(chromium chromium-driver)
          reasons+=("the browser tests launch Chromium at $CHROMIUM (set CHROMIUM to use another), which is missing")
        fi
        ;;
      python)
        # Debian's python3 has the venv module but not ensurepip, which `python3 -m venv`
        # needs: that half is the python3-venv package.
        if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
          packages+=(python3-venv)
          reasons+=("the interop tests make a venv with $PYTHON, which lacks ensurepip/venv")
        fi
        ;;
      *)
        echo "system-deps: unknown argument '$want' (expected browser and/or python)" >&2
        exit 2
        ;;
    esac
  done
}

check "$@"
[ ${#packages[@]} -eq 0 ] && exit 0

install="apt-get update && apt-get install -y --no-install-recommends ${packages[*]}"
say() { printf 'system-deps: %s\n' "$@" >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
  say "${reasons[@]}" \
    "no apt-get here: install Chromium and Python's venv module with this system's package manager," \
    "then point CHROMIUM (and PYTHON) at them, e.g. make test CHROMIUM=/usr/bin/chromium-browser"
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  say "${reasons[@]}" "install the Debian packages once (needs root), then run make test again:"
  printf "\n    sudo sh -c '%s'\n\n" "$install" >&2
  exit 1
fi

say "${reasons[@]}" "installing the Debian packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}"

check "$@"
if [ ${#packages[@]} -gt 0 ]; then
  say "still missing after apt-get install:" "${reasons[@]}"
  exit 1
fi
