#!/usr/bin/env bash
# `make fuzz`: seed the corpora from tests/vectors, build the targets with cargo-fuzz on the
# stable toolchain (`--sanitizer none`: only stable codegen flags), then run each target for
# FUZZ_SECONDS at the lowest priority, one after another, and print what each did.
#
#   FUZZ_TARGETS   targets to run (default: all eleven)
#   FUZZ_SECONDS   seconds per target (default 180); every run stops itself
#   CARGO_FUZZ     the cargo-fuzz binary (the Makefile installs it into .tools)
#
# A finding stops that target (libFuzzer writes the input to fuzz/artifacts/TARGET/) and the
# others still run; the script then exits 1 and prints how to replay each finding.
set -euo pipefail
cd "$(dirname "$0")"

TARGETS=${FUZZ_TARGETS:-path signature keyset keyset_plain http1 delta shard envelope sealed webhook digest}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-180}
CARGO_FUZZ=${CARGO_FUZZ:-cargo-fuzz}
NICE="nice -n 19"

node seed.mjs corpus
# The harness's own tests first: its origin models, and the sweep of every Unicode code point
# against the table of characters keygate refuses (src/route/confusable.rs).
$NICE cargo test --release --lib
# Instrumented release build (debug assertions and overflow checks on: fuzz/Cargo.toml).
$NICE "$CARGO_FUZZ" build --sanitizer none

mkdir -p logs
status=0
summary=()
for t in $TARGETS; do
  [ -f "fuzz_targets/$t.rs" ] || { echo "no fuzz target $t (fuzz/fuzz_targets/)" >&2; exit 2; }
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | sort)
  echo "=== $t: ${SECONDS_PER_TARGET}s"
  # -timeout: one input taking over 10 s is a finding (a hang); -rss_limit_mb: so is 2 GiB.
  # The outer timeout is a backstop: libFuzzer stops itself at -max_total_time.
  start=$(date +%s)
  set +e
  timeout --kill-after=30 $((SECONDS_PER_TARGET + 300)) $NICE "$CARGO_FUZZ" run --sanitizer none "$t" \
    "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="dict/$t.dict" -print_final_stats=1 > "logs/$t.log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "logs/$t.log" | tail -1)
  corpus=$(find "corpus/$t" -type f | wc -l)
  new=$(comm -13 <(printf '%s\n' "$before") <(find "artifacts/$t" -type f | sort) | sed '/^$/d')
  found=$(printf '%s' "$new" | grep -c . || true)
  line="$t: ${execs:-?} executions in ${took}s (${rate:-?}/s), corpus $corpus inputs, $found new finding(s)"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    line="$line (exit $rc; see fuzz/logs/$t.log)"
    for a in $new; do
      line="$line
    replay: (cd fuzz && $CARGO_FUZZ run --sanitizer none $t $a)"
    done
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "=== fuzzing summary"
printf '%s\n' "${summary[@]}"
exit $status
