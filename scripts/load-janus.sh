#!/usr/bin/env bash
# The viewer benchmark against Janus (Debian's `janus`, its streaming plugin), for a side by side
# with `scripts/load.sh play`: the same `ferrophone load play` viewers watch a Janus mountpoint
# that ffmpeg feeds over RTP with an Opus + VP8 clip, or H.264 with JANUS_VIDEO=h264 (600 kbps
# video, a keyframe every 2 s).
#   scripts/load-janus.sh --viewers 300 --rate 50 --duration 30
# Janus gathers no loopback candidates, so all of it runs in a private network namespace
# (unshare -n) where a veth holds 198.18.0.1; packets to that address travel over loopback there,
# as ours do. LOAD_SERVER_CPUS and LOAD_KEEP_AWAKE pin as in load.sh; JANUS_EVENT_LOOPS sets
# Janus's `event_loops` (unset: its default, a thread per viewer); LOAD_BIN is the ferrophone
# that runs the viewers (unset: a release build made here); JANUS_CLIP_SECONDS the clip's length.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || { sed -n '2,11p' "$0"; exit 2; }
command -v janus > /dev/null || { echo "janus is not installed (apt-get install janus)" >&2; exit 2; }
if [ -z "${LOAD_JANUS_NETNS:-}" ]; then
  [ -n "${LOAD_BIN:-}" ] || cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" --bin ferrophone
  exec unshare -n env LOAD_JANUS_NETNS=1 "$0" "$@"
fi
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 198.18.0.1/24 dev v0
ip link set v0 up; ip link set v1 up
BIN=${LOAD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrophone}
RUN=$(mktemp -d)
PIDS=()
# Janus sometimes hangs on SIGTERM with viewers just gone: it gets 10 s, then SIGKILL.
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
trap 'for p in "${PIDS[@]}"; do stop $p; done; rm -rf "$RUN"' EXIT
source "$ROOT/scripts/load-pinning.sh"
ulimit -n "$(ulimit -Hn)"

LIB=/usr/lib/x86_64-linux-gnu/janus
mkdir -p "$RUN/janus"
cat > "$RUN/janus/janus.jcfg" <<CONF
general: {
	plugins_folder = "$LIB/plugins"
	transports_folder = "$LIB/transports"
	events_folder = "$LIB/events"
	loggers_folder = "$LIB/loggers"
	debug_level = 3
	${JANUS_EVENT_LOOPS:+event_loops = $JANUS_EVENT_LOOPS}
}
nat: {
	ice_lite = true
	ice_enforce_list = "v0"
	ignore_mdns = true
}
plugins: { disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so,libjanus_echotest.so,libjanus_sip.so" }
transports: { disable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so" }
loggers: { disable = "libjanus_jsonlog.so" }
CONF
# The video: VP8 in WebM, or H.264 (constrained baseline, packetization mode 1) in MPEG-TS, which
# keeps the parameter sets before each keyframe: RTP from other files carries them only in an
# SDP that nobody reads here (and a bitstream filter to put them back stops at the first loop).
case "${JANUS_VIDEO:-vp8}" in
  vp8) ENCODE=(-c:v libvpx -deadline realtime); VIDEO_PT=100; JANUS_CODEC='codec = "vp8";'; CLIP=$RUN/clip.webm ;;
  h264) ENCODE=(-c:v libx264 -preset veryfast -tune zerolatency -profile:v baseline -pix_fmt yuv420p); VIDEO_PT=96
    JANUS_CODEC='codec = "h264"; fmtp = "profile-level-id=42e01f;packetization-mode=1";'; CLIP=$RUN/clip.ts ;;
  *) echo "JANUS_VIDEO is vp8 or h264" >&2; exit 2 ;;
esac
cat > "$RUN/janus/janus.plugin.streaming.jcfg" <<CONF
load: {
	type = "rtp"
	id = 1
	media = (
		{ type = "audio"; mid = "a"; port = 10002; pt = 111; codec = "opus"; iface = "127.0.0.1"; },
		{ type = "video"; mid = "v"; port = 10004; pt = $VIDEO_PT; $JANUS_CODEC iface = "127.0.0.1"; }
	)
}
CONF
cat > "$RUN/janus/janus.transport.websockets.jcfg" <<CONF
general: { ws = true; ws_port = 8188; ws_ip = "198.18.0.1"; wss = false; }
admin: { admin_ws = false; admin_wss = false; }
CONF

# The feed: a clip encoded once, then sent in a loop without decoding.
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 -t "${JANUS_CLIP_SECONDS:-10}" \
  "${ENCODE[@]}" -b:v 600k -minrate 600k -maxrate 600k -bufsize 600k -g 60 -c:a libopus -b:a 24k -ac 1 "$CLIP"
"${SERVER_PIN[@]}" janus -F "$RUN/janus" -o > "$RUN/janus.log" 2>&1 &
JANUS=$!
PIDS+=($JANUS)
for _ in $(seq 100); do (exec 3<>/dev/tcp/198.18.0.1/8188) 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/198.18.0.1/8188) 2>/dev/null || { cat "$RUN/janus.log"; exit 1; }
"${PEER_PIN[@]}" ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$CLIP" \
  -map 0:v -c copy -payload_type $VIDEO_PT -f rtp "rtp://127.0.0.1:10004?pkt_size=1200" \
  -map 0:a -c copy -payload_type 111 -f rtp "rtp://127.0.0.1:10002" > "$RUN/feed.log" 2>&1 &
PIDS+=($!)
sleep 1
"${PEER_PIN[@]}" "$BIN" load play --url ws://198.18.0.1:8188 --janus-mountpoint 1 --client-ip 198.18.0.1 \
  --server-pid $JANUS --health-url "" "$@"
