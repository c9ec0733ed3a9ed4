#!/usr/bin/env bash
# Installs what is missing, builds, and runs the embedded default: a controller with its
# in-process MQTT broker and SQLite database, seeded with demo content (generated images, a
# short video when GStreamer can make one, Japanese/English slides, layouts, a schedule), plus
# two headless players that download, verify and follow it. Ctrl-C stops all.
#   HTTP=0.0.0.0:8080 MQTT=0.0.0.0:1883 DATA=./demo-data scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Only the two programs the demo runs: the benchmarks and tools build on demand.
bash scripts/setup.sh --release -p controller -p player
export PATH="$HOME/.cargo/bin:$PATH"

BIN=target/release
DATA=${DATA:-demo-data}
HTTP=${HTTP:-0.0.0.0:8080}
MQTT=${MQTT:-0.0.0.0:1883}
mkdir -p "$DATA"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_busy "${MQTT##*:}"; then
  echo "port ${MQTT##*:} is taken (a system Mosquitto?); the embedded broker takes a free port instead" >&2
  MQTT="${MQTT%:*}:0"
fi
if port_busy "${HTTP##*:}"; then
  echo "port ${HTTP##*:} is taken; the console takes a free port instead" >&2
  HTTP="${HTTP%:*}:0"
fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

rm -f "$DATA/endpoints.json"
"$BIN/signage-controller" serve --data-dir "$DATA/controller" --http "$HTTP" --mqtt-listen "$MQTT" &
pids+=($!)
for _ in $(seq 1 100); do
  [ -f "$DATA/controller/endpoints.json" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the controller did not start" >&2; exit 1; }
  sleep 0.1
done

# The first administrator: created once, its password kept beside the demo data (owner-only).
pwfile="$DATA/admin-password.txt"
if [ ! -s "$pwfile" ]; then
  (umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile")
fi
"$BIN/signage-controller" user add admin --role admin --password-stdin \
  --data-dir "$DATA/controller" <"$pwfile" >/dev/null

# Sample content, layouts and a schedule, through the HTTP API (idempotent).
"$BIN/signage-controller" demo seed --data-dir "$DATA/controller" \
  || echo "seeding the demo failed; the controller runs without sample content" >&2

display=headless
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then display=window; fi
for id in kita-1f-lobby chuo-2f-window; do
  conf="$DATA/players/$id.toml"
  if [ ! -f "$conf" ]; then
    "$BIN/signage-controller" player add "$id" --data-dir "$DATA/controller" \
      --ward "${id%%-*}" --group lobby --out "$conf"
  fi
  if [ "$id" = kita-1f-lobby ] && ! grep -q '^\[camera\]' "$conf"; then
    # Audience rules: this player's synthetic camera watches a waiting hall that fills up
    # (the screen switches to the online-procedures slide) and empties (attract loop).
    printf '\n[camera]\nsource = "synthetic:crowd"\nzones = ["hall:1,1,639,1,639,479,1,479"]\n' >> "$conf"
  fi
  "$BIN/signage-player" run --config "$conf" --cache-dir "$DATA/players/$id-cache" --display "$display" &
  pids+=($!)
done

url=$(sed -n 's/.*"http": *"\([^"]*\)".*/\1/p' "$DATA/controller/endpoints.json")
echo
echo "  Console / 管理画面:   $url/"
echo "  Log in / ログイン:    admin / $(cat "$pwfile")   (more accounts: Users page, or"
echo "                        target/release/signage-controller user add NAME --role pr --data-dir $DATA/controller)"
echo "  API:                  $url/api/v1/openapi.json  (tokens: signage-controller token create --role viewer)"
echo "  Ctrl-C stops the controller and the players."
echo
wait -n
