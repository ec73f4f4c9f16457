# keygate: wasm module, npm package (pkg/), native CLI, local gateway, every test layer.
#
#   make build   wasm + pkg/ ready for `npm pack` + target/release/keygate
#   make dev     the gateway in workerd (wrangler dev --env dev) with the DEMO key set, demo page at /
#   make test    system packages (Chromium, python3-venv) when missing, then native Rust, wasm
#                (Node), package (Node, tarball, TypeScript, Vite), gateway (workerd), deployment
#                runbook (offline), demo page (Chromium), interop
#   make lint    rustfmt, clippy (native and wasm32)
#   make bench   keygate beside bare WebCrypto in workerd (about two minutes; BENCHMARKS.md)
#   make fuzz    coverage-guided fuzzing of the parsers, FUZZ_SECONDS per target (not in test or CI)
#
# Incremental: each step is a file rule, so a warm `make test` only re-runs the tests.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

ROOT := $(CURDIR)
TOOLS := $(ROOT)/.tools
# node_modules/.bin first: its `node` is Node 22 (the `node` devDependency), so wrangler,
# the tests and wasm-bindgen-test-runner all run on the Node 22 track (docs/deployment.md).
export PATH := $(ROOT)/node_modules/.bin:$(TOOLS)/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
# The Chromium the browser tests launch (tests/e2e/page.mjs reads it); `make test` installs
# Debian's when this is missing (scripts/system-deps.sh).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

# The CLI must be exactly the wasm-bindgen crate's version ("schema version must match").
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' Cargo.lock)
WASM_BINDGEN := $(TOOLS)/bin/wasm-bindgen

RUST_SRC := Cargo.toml Cargo.lock $(shell find src -name '*.rs')
WASM_RAW := target/wasm32-unknown-unknown/wasm/keygate.wasm
PKG_WASM := pkg/wasm/keygate_bg.wasm
PKG_SRC := pkg/package.json $(shell find pkg/src -type f)
PKG_LICENSES := pkg/LICENSE-MIT pkg/LICENSE-APACHE
GATEWAY_SRC := $(shell find gateway -type f)
NPM_STAMP := node_modules/.package-lock.json
VENDOR := www/vendor/keygate/package.json
WORKER_BUNDLE := dist/index.js
BENCH_BUNDLE := target/bench/workerd/worker.js
CLI := target/release/keygate

.PHONY: build tools wasm-target wasm-bindgen-cli wasm pkg vendor bundle cli dev test \
	system-deps browser python-venv test-setup \
	test-rust test-wasm test-js test-worker test-pack test-runbook test-e2e test-interop test-bench bench lint clean \
	fuzz cargo-fuzz

build: pkg vendor cli

# --- tools -------------------------------------------------------------------------------

tools: wasm-target wasm-bindgen-cli

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown

wasm-bindgen-cli:
	@test -n "$(WASM_BINDGEN_VERSION)" || { echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; }
	@if [ "$$($(WASM_BINDGEN) --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] \
		|| [ ! -x $(TOOLS)/bin/wasm-bindgen-test-runner ]; then \
		echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into .tools"; \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS); \
	fi

# What cargo and npm cannot bring: Debian's Chromium and python3-venv, installed with apt-get
# when missing and running as root; otherwise the script names the one command to run.
system-deps:
	@scripts/system-deps.sh browser python

browser:
	@scripts/system-deps.sh browser

python-venv:
	@scripts/system-deps.sh python

$(NPM_STAMP): package.json package-lock.json pkg/package.json
	npm ci --no-audit --no-fund
	@touch $@

# --- wasm and the npm package --------------------------------------------------------------

wasm: $(PKG_WASM)

$(WASM_RAW): $(RUST_SRC) | tools
	cargo build --lib --target wasm32-unknown-unknown --profile wasm
	@touch $@

# wasm-bindgen --target web: the JS glue exports initSync/init; pkg/src/wasm/*.js pick how the
# module is obtained (workerd import, Node file read, browser fetch). Then wasm-opt from npm,
# with `-ocimfs 0`: by default it inlines every function that has one caller, whatever its
# size, which merged the decision into one 60 KB function (the key set parser into 39 KB) that
# V8 compiles whole, lazily, on its first call; that compile was most of the cold start
# (BENCHMARKS.md, "wasm size and cold start, by part"). LLVM's inlining is left as it is.
$(PKG_WASM): $(WASM_RAW) $(NPM_STAMP) Makefile | tools
	$(WASM_BINDGEN) --target web --no-typescript --experimental-reset-state-function --out-dir pkg/wasm --out-name keygate $(WASM_RAW)
	wasm-opt -Oz -ocimfs 0 pkg/wasm/keygate_bg.wasm -o pkg/wasm/keygate_bg.wasm
	@ls -l pkg/wasm/keygate_bg.wasm | awk '{print "pkg/wasm/keygate_bg.wasm: " $$5 " bytes"}'

pkg: $(PKG_WASM) $(NPM_STAMP) $(PKG_LICENSES)

# The licence texts ship in the tarball; the repository root holds the only copy.
pkg/LICENSE-%: LICENSE-%
	cp $< $@

# The demo page loads the package from the gateway's own assets (gitignored copy).
vendor: $(VENDOR)

$(VENDOR): $(PKG_WASM) $(PKG_SRC)
	rm -rf www/vendor
	mkdir -p www/vendor/keygate/wasm
	cp -R pkg/src www/vendor/keygate/src
	cp pkg/wasm/keygate.js pkg/wasm/keygate_bg.wasm www/vendor/keygate/wasm/
	cp pkg/package.json $@

# The gateway application (gateway/, wrangler.toml `main`) exactly as `wrangler deploy` would
# upload it, with the package resolved through its npm workspace link (offline; also the size check).
bundle: $(WORKER_BUNDLE)

$(WORKER_BUNDLE): $(PKG_WASM) $(PKG_SRC) $(GATEWAY_SRC) wrangler.toml $(NPM_STAMP)
	rm -rf dist
	wrangler deploy --env '' --dry-run --outdir dist > dist.log 2>&1 || { cat dist.log >&2; rm -f dist.log; exit 1; }
	@grep -E 'Total Upload|gzip' dist.log || true
	@rm -f dist.log
	@test -f $@

cli: $(CLI)

$(CLI): $(RUST_SRC)
	cargo build --release --features cli
	@touch $@

# --- run -------------------------------------------------------------------------------------

# The `dev` environment of wrangler.toml (the demo page as assets, local KV). DEMO key set only
# here, through the gitignored .dev.vars; a deployed gateway never sees it.
# Local KV state is kept per configuration (pushes on/off, whose publisher keys): a set pushed
# under the demo key must not be what a later run with other publisher keys finds in KV.
DEV_STATE = .wrangler/dev-$(shell printf '%s|%s' "$${KEYGATE_PUSH:-}" "$${KEYGATE_PUBLISHER_KEYS:-}" | sha256sum | cut -c1-12)

dev: pkg vendor
	node scripts/dev-vars.mjs
	wrangler dev --env dev --ip 127.0.0.1 --port $${PORT:-8787} --persist-to $(DEV_STATE) --show-interactive-dev-session=false

# --- tests -----------------------------------------------------------------------------------

# system-deps first: a machine without Chromium stops here, not after the builds.
test: system-deps test-setup test-rust test-wasm test-js test-worker test-pack test-runbook test-e2e test-interop test-bench

# scripts/system-deps.sh against stand-in apt-get, id and browser paths (never the system's).
test-setup:
	node --test 'tests/setup/*.test.mjs'

test-rust:
	cargo test --features cli

# tests/wasm.rs (public API on wasm32) and src/wasm/tests.rs (the facade's JSON contract).
test-wasm: tools $(NPM_STAMP)
	cargo test --target wasm32-unknown-unknown --lib --test wasm --test wasm_sig

# The package from plain Node, then the type tests (strict; misuses must not compile).
test-js: pkg
	node --test 'tests/js/*.test.mjs'
	tsc -p tests/types

# The gateway in workerd; cli_push.test.mjs drives it with the native CLI (`keygate push`).
test-worker: bundle $(CLI)
	KEYGATE=$(CLI) node --test 'tests/worker/*.test.mjs'

# The package as users get it: `npm pack` (its files, size and every export checked),
# installed offline into a fresh temporary project, then imported and required from Node 22
# and 20, bundled by wrangler into Workers run in workerd (import-time and initWasm), used by
# Hono, type-checked by TypeScript 5.9 under node10, node16, nodenext and bundler resolution
# (installed from npm into the project), and built by Vite into pages run in Chromium.
test-pack: pkg | browser
	node --test 'tests/pack/*.test.mjs'

# docs/deployment.md's runbook, block by block, offline: the cloud commands have stand-ins
# (tests/runbook/shim.sh), the deployed gateway runs in workerd.
test-runbook: pkg $(CLI)
	node --test 'tests/runbook/*.test.mjs'

test-e2e: pkg vendor | browser
	node --test --test-concurrency=1 'tests/e2e/*.test.mjs'

# RFC 9421 interop, both directions, with Python and npm http-message-signatures (installed by
# the script from PyPI and npm into tests/interop/, gitignored).
test-interop: $(CLI) | python-venv
	KEYGATE=$(CLI) tests/interop/run.sh

# The benchmark harness still works: one tiny round of every case (each decision allowed,
# numbers produced), and a refused decision fails the run. No timing is asserted.
test-bench: $(BENCH_BUNDLE)
	node --test 'tests/bench/*.test.mjs'

# --- benchmark -------------------------------------------------------------------------------

# The bench Worker (benches/workerd/), bundled as a user's Worker importing the package would be.
$(BENCH_BUNDLE): $(PKG_WASM) $(PKG_SRC) $(wildcard benches/workerd/*.mjs) benches/workerd/wrangler.toml $(NPM_STAMP)
	rm -rf target/bench/workerd
	mkdir -p target/bench
	wrangler deploy --dry-run --outdir $(ROOT)/target/bench/workerd -c benches/workerd/wrangler.toml > target/bench/build.log 2>&1 \
		|| { cat target/bench/build.log >&2; exit 1; }
	@test -f $@

# keygate in workerd beside bare WebCrypto (options: benches/workerd/run.mjs). Not a test.
bench: $(BENCH_BUNDLE)
	node benches/workerd/run.mjs

lint: tools
	cargo fmt --check
	cargo clippy --all-targets --features cli -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib --test wasm --test wasm_sig --profile test -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings

# --- fuzzing (not part of `make test` or CI) ------------------------------------------------
# libFuzzer through cargo-fuzz, on the stable toolchain (`--sanitizer none` needs no nightly
# flag; docs/security.md "Fuzzing" says why this and not AFL++ or RUSTC_BOOTSTRAP). The fuzz
# crate (fuzz/) is its own workspace, outside the package. fuzz/run.sh seeds the corpora from
# tests/vectors, then runs each of FUZZ_TARGETS for FUZZ_SECONDS at nice 19, one at a time.
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := $(TOOLS)/bin/cargo-fuzz
FUZZ_SECONDS ?= 180
FUZZ_TARGETS ?= path signature keyset keyset_plain http1 delta shard envelope sealed webhook digest

cargo-fuzz:
	@if [ "$$($(CARGO_FUZZ) --version 2>/dev/null)" != "cargo-fuzz $(CARGO_FUZZ_VERSION)" ]; then \
		echo "installing cargo-fuzz $(CARGO_FUZZ_VERSION) into .tools"; \
		cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --root $(TOOLS); \
	fi

fuzz: cargo-fuzz
	CARGO_FUZZ=$(CARGO_FUZZ) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz/run.sh

clean:
	rm -rf pkg/wasm $(PKG_LICENSES) www/vendor dist .wrangler tests/e2e/screenshots .dev.vars
	cargo clean
