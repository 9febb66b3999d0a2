#!/usr/bin/env bash
# Runs the browser tests (official WebSDK in Debian's Chromium) in a private network
# namespace: only loopback exists there, so the server listens on its default ports and
# advertises 127.0.0.1, and nothing leaves the machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export FERROPHONE_BIN=${FERROPHONE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/ferrophone}
export NODE_PATH=$ROOT/scripts/web/node_modules
[ -x "$FERROPHONE_BIN" ] || { echo "no server binary at $FERROPHONE_BIN: build it first" >&2; exit 1; }
tests=("$ROOT"/integration/browser/*.test.cjs)
exec unshare --net -- bash -c 'ip link set lo up && exec node --test --test-concurrency=1 "$@"' bash "${tests[@]}"
