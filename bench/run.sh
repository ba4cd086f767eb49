#!/usr/bin/env bash
# Side-by-side REST benchmark (see BENCHMARKS.md).
#
#   bench/run.sh [clients|emulator] [--rounds R] [--secs S] [--no-build]
#
# clients (default): a fixed-reply server (minimal hyper, the emulator's send-message reply) on
#   one core; the official JS SDK, this SDK and a plain reqwest client, each single-threaded on
#   the other core, take turns (R rounds x S seconds each) at 1 and 50 calls in flight.
# emulator: the same SDK driver against the emulator's send-message route and against the
#   fixed-reply server, alternating (issue 14 item 2); with `wrk` installed, wrk too.
#
# Environment: SERVER_CPU (0), CLIENT_CPU (1), WARMUP (1 s), CARGO (cargo), KEEP (keep the
# result file), EMULATOR_BIN (another emulator binary to measure, e.g. an older build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=clients
ROUNDS=3
SECS=4
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    clients|emulator) MODE=$1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --secs) SECS=$2; shift ;;
    --no-build) BUILD=0 ;;
    *) echo "usage: bench/run.sh [clients|emulator] [--rounds R] [--secs S] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BIN="$ROOT/target/release"

if [ "$BUILD" = 1 ]; then
  # The three binary packages together, so that their dependencies share one feature set
  # (and one set of compiled artifacts) whichever mode runs.
  (cd "$ROOT" && CARGO_INCREMENTAL=0 ${CARGO:-cargo} build --release \
    -p guest-chat-bench -p guest-chat-emulator -p guest-chat-cli)
fi
if [ "$MODE" = clients ] && [ ! -d "$ROOT/conformance/js/node_modules/purecloud-guest-chat-client" ]; then
  (cd "$ROOT/conformance/js" && npm ci --no-audit --no-fund)
fi

WORK=$(mktemp -d)
RESULTS="$WORK/results.jsonl"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "results kept in $RESULTS"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# start NAME CMD...: runs CMD on the server core, waits for its "listening on URL" line and
# sets URL (not run in a subshell, so that its process id is kept for the cleanup).
start() {
  local name=$1; shift
  taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    if grep -q 'listening on ' "$WORK/$name.out" 2>/dev/null; then
      URL=$(grep -o 'http://[0-9.:]*' "$WORK/$name.out" | head -1)
      return
    fi
    sleep 0.1
  done
  echo "$name did not start: $(cat "$WORK/$name.err")" >&2
  exit 1
}

# drive LABEL CLIENT URL CONV MEMBER JWT IN_FLIGHT
drive() {
  local label=$1 client=$2 url=$3 conv=$4 member=$5 jwt=$6 n=$7
  local cmd
  case "$client" in
    js) cmd=(node "$ROOT/bench/js/driver.mjs") ;;
    sdk) cmd=("$BIN/sdk-driver") ;;
    reqwest) cmd=("$BIN/reqwest-driver") ;;
  esac
  taskset -c "$CLIENT_CPU" "${cmd[@]}" --url "$url" --conv "$conv" --member "$member" --jwt "$jwt" \
    --in-flight "$n" --secs "$SECS" --warmup "${WARMUP:-1}" | sed "s/^{/{\"label\":\"$label\",/" | tee -a "$RESULTS"
}

start fixed "$BIN/fixed-reply-server"
FIXED=$URL
echo "# fixed-reply server $FIXED (cpu $SERVER_CPU), clients on cpu $CLIENT_CPU, $ROUNDS x ${SECS}s each"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$MODE" = clients ]; then
  for r in $(seq 1 "$ROUNDS"); do
    for n in 1 50; do
      for c in js sdk reqwest; do
        drive "$c" "$c" "$FIXED" c1 m1 abc.def.ghi "$n"
      done
    done
  done
else
  start emulator "${EMULATOR_BIN:-$BIN/guest-chat-emulator}" --agent manual --activate-without-stream \
    --rate-limit 1000000000/60
  EMU=$URL
  CREATE=$(curl -sf -X POST "$EMU/api/v2/webchat/guest/conversations" -H 'content-type: application/json' \
    -d '{"organizationId":"bench-org","deploymentId":"bench-deployment","routingTarget":{"targetType":"QUEUE","targetAddress":"Bench"},"memberInfo":{"displayName":"Bench Guest"}}')
  CONV=$(jq -r .id <<<"$CREATE")
  MEMBER=$(jq -r .member.id <<<"$CREATE")
  JWT=$(jq -r .jwt <<<"$CREATE")
  echo "# emulator $EMU (cpu $SERVER_CPU)"
  for r in $(seq 1 "$ROUNDS"); do
    for n in 1 50; do
      drive fixed sdk "$FIXED" c1 m1 abc.def.ghi "$n"
      drive emulator sdk "$EMU" "$CONV" "$MEMBER" "$JWT" "$n"
    done
  done
  if command -v wrk >/dev/null; then
    LUA="$WORK/post.lua"
    printf 'wrk.method = "POST"\nwrk.body = "{\\"body\\":\\"hello\\"}"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer %s"\n' "$JWT" >"$LUA"
    for r in $(seq 1 "$ROUNDS"); do
      for n in 1 50; do
        for target in fixed emulator; do
          if [ $target = fixed ]; then base=$FIXED; path=/api/v2/webchat/guest/conversations/c1/members/m1/messages
          else base=$EMU; path=/api/v2/webchat/guest/conversations/$CONV/members/$MEMBER/messages; fi
          rps=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$n" -d"${SECS}s" -s "$LUA" "$base$path" | awk '/Requests\/sec/ {print $2}')
          echo "{\"label\":\"wrk-$target\",\"client\":\"wrk\",\"inFlight\":$n,\"callsPerSec\":$rps}" | tee -a "$RESULTS"
        done
      done
    done
  fi
fi

echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/bench/summarize.py" "$MODE" "$RESULTS"
