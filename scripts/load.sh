#!/usr/bin/env bash
# Benchmarks: starts a release ferrophone on loopback (and, for pushes, nginx with the RTMP
# module as their destination; for calls, a sipp phone that answers and echoes RTP), runs one
# `ferrophone load` command against it, and stops them.
#   scripts/load.sh sessions --count 10000 --rate 500 --duration 30
#   scripts/load.sh play --viewers 500 --rate 50 --duration 30 --publish h264
#   scripts/load.sh push --streams 1 --pushes 200 --duration 30
#   scripts/load.sh calls --calls 150 --rate 20 --duration 30
#   scripts/load.sh stream-calls --calls 100 --viewers 1 --duration 30
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || { sed -n '2,9p' "$0"; exit 2; }
cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" --bin ferrophone
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrophone
RUN=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; wait $p 2>/dev/null || true; done; rm -rf "$RUN"' EXIT
# LOAD_SERVER_ARGS adds server options (e.g. "--set media.workers=1"). LOAD_SERVER_BIN runs
# another ferrophone build as the server, to compare two builds under the same load command.
source "$ROOT/scripts/load-pinning.sh"
"${SERVER_PIN[@]}" "${LOAD_SERVER_BIN:-$BIN}" --set server.bind_address=127.0.0.1 --set log.level=${LOAD_LOG_LEVEL:-warn} --set media.udp_port=0 --set sip.port=0 \
  ${LOAD_SERVER_ARGS:-} --ready-file "$RUN/ready" > "$RUN/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$RUN/ready" ] && break; sleep 0.1; done
[ -s "$RUN/ready" ] || { cat "$RUN/server.log"; exit 1; }
PORTS=$(cat "$RUN/ready")
WS=$(sed -E 's/.*"ws":([0-9]+).*/\1/' <<<"$PORTS"); HTTP=$(sed -E 's/.*"http":([0-9]+).*/\1/' <<<"$PORTS")
COMMAND=$1; shift
EXTRA=()
if [ "$COMMAND" = push ]; then
  RTMP_PORT=19350
  mkdir -p "$RUN/nginx/logs" "$RUN/nginx/tmp"
  cat > "$RUN/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
user root;
worker_processes 1;
pid nginx.pid;
error_log logs/error.log warn;
events { worker_connections 4096; }
rtmp { server { listen 127.0.0.1:$RTMP_PORT; chunk_size 4096; application live { live on; } } }
CONF
  nginx -e stderr -p "$RUN/nginx/" -c "$RUN/nginx/nginx.conf" > "$RUN/nginx/logs/stderr.log" 2>&1 &
  PIDS+=($!)
  sleep 1
  EXTRA=(--http-url "http://127.0.0.1:$HTTP" --rtmp-url "rtmp://127.0.0.1:$RTMP_PORT/live")
fi
if [ "$COMMAND" = calls ] || [ "$COMMAND" = stream-calls ]; then
  # calls: a phone that echoes what it hears; stream-calls: one that talks (a 440 Hz tone).
  PHONE_PORT=15090
  ulimit -n 65536 2>/dev/null || true
  if [ "$COMMAND" = calls ]; then
    PHONE=(-sf "$ROOT/integration/sip_scenarios/uas_answer.xml" -rtp_echo)
    EXTRA=(--phone "127.0.0.1:$PHONE_PORT")
  else
    ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=frequency=440:sample_rate=8000:duration=10 \
      -ac 1 -c:a pcm_mulaw -f mulaw "$RUN/tone440.ul"
    PHONE=(-sf "$ROOT/integration/sip_scenarios/uas_talks.xml")
    EXTRA=(--phone "127.0.0.1:$PHONE_PORT" --http-url "http://127.0.0.1:$HTTP")
  fi
  (cd "$RUN" && exec "${PEER_PIN[@]}" sipp "${PHONE[@]}" -i 127.0.0.1 -mi 127.0.0.1 \
    -p $PHONE_PORT -mp 16000 -nostdin -trace_err -error_file sipp-errors.log > sipp.out 2>&1) &
  PIDS+=($!)
  sleep 1
fi
"${PEER_PIN[@]}" "$BIN" load "$COMMAND" --url "ws://127.0.0.1:$WS" --health-url "http://127.0.0.1:$HTTP/health" "${EXTRA[@]}" "$@"
