#!/usr/bin/env bash
# Benchmarks: starts a release ferrophone on loopback, runs one `ferrophone load` command
# against it, and stops it.
#   scripts/load.sh sessions --count 10000 --rate 500 --duration 30
#   scripts/load.sh play --viewers 500 --rate 50 --duration 30 --publish h264
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || { sed -n '2,5p' "$0"; exit 2; }
cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" --bin ferrophone
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrophone
RUN=$(mktemp -d)
"$BIN" --set server.bind_address=127.0.0.1 --set log.level=warn --set media.udp_port=0 \
  --ready-file "$RUN/ready" > "$RUN/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$RUN"' EXIT
for _ in $(seq 100); do [ -s "$RUN/ready" ] && break; sleep 0.1; done
[ -s "$RUN/ready" ] || { cat "$RUN/server.log"; exit 1; }
PORTS=$(cat "$RUN/ready")
WS=$(sed -E 's/.*"ws":([0-9]+).*/\1/' <<<"$PORTS"); HTTP=$(sed -E 's/.*"http":([0-9]+).*/\1/' <<<"$PORTS")
COMMAND=$1; shift
"$BIN" load "$COMMAND" --url "ws://127.0.0.1:$WS" --health-url "http://127.0.0.1:$HTTP/health" "$@"
