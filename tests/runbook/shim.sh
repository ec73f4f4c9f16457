# Offline stand-ins for the cloud commands of the runbook (docs/deployment.md), sourced before
# its blocks by runbook.test.mjs. Each talks to the test through ctl.mjs; a command without a
# stand-in fails (exit 97), so a new cloud step in the runbook must be given one on purpose.
# RUNBOOK_DIR: the scratch copy of the repository the blocks run in; RUNBOOK_CTL: ctl.mjs.

make() {
  echo "runbook: make $* skipped (make test-runbook has built it)"
}

npx() {
  if [ "${1:-}" != wrangler ]; then
    echo "runbook: no offline stand-in for npx $*" >&2
    return 97
  fi
  shift
  case "${1:-} ${2:-}" in
    "login "*)
      echo "runbook: wrangler login skipped (offline)" ;;
    "deploy "*)
      command wrangler "$@" --dry-run --outdir "$RUNBOOK_DIR/dist" && node "$RUNBOOK_CTL" deploy ;;
    "secret put")
      node "$RUNBOOK_CTL" secret "$3" ;;
    *)
      echo "runbook: no offline stand-in for wrangler $*" >&2
      return 97 ;;
  esac
}

curl() {
  node "$RUNBOOK_CTL" curl "$@"
}
