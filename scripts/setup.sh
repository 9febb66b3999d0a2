#!/usr/bin/env bash
# Installs what ferrophone needs to build, run and test on Debian 12: Debian packages (FFmpeg
# libraries, Chromium and the protocol peers the tests talk to) and the npm packages in
# scripts/web (the WebSDK served under /client2/, playwright-core for the browser tests).
# Idempotent: a second run installs nothing and takes about a second.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

APT_PACKAGES=(
  # building: bindgen for ffmpeg-sys, FFmpeg's libraries, libopus (encoded directly), gcc for aws-lc-sys
  pkg-config libclang-dev gcc libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libopus-dev
  libavdevice-dev libswresample-dev libswscale-dev
  # testing: browser, network namespaces, media and protocol peers (../shared/peers)
  chromium iproute2 util-linux curl ffmpeg sip-tester kamailio nginx-light libnginx-mod-rtmp
  tshark baresip-core nodejs npm
  # the viewer benchmark's side by side (scripts/load-janus.sh)
  janus
)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Debian's node 18 is enough; a machine that already has node (and its npm) keeps it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

# npm packages, pinned by scripts/web/package-lock.json; reinstalled only when it changes.
WEB=$ROOT/scripts/web
STAMP=$WEB/node_modules/.installed-from-lock
if [ "$(cat "$STAMP" 2>/dev/null)" != "$(sha256sum < "$WEB/package-lock.json")" ]; then
  echo "setup: installing npm packages in scripts/web"
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
  sha256sum < "$WEB/package-lock.json" > "$STAMP"
fi
[ -f "$WEB/node_modules/@flashphoner/websdk/flashphoner.js" ] || { echo "setup: the WebSDK did not install" >&2; exit 1; }
