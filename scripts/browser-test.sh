#!/usr/bin/env bash
# The SDK in headless Chromium: crates/client/tests/browser.rs (wasm-bindgen-test) chats with
# the emulator, which runs as its own process on a loopback port while wasm-bindgen-test-runner
# serves the test page on another (so every call is cross-origin, as from a real page).
#
#   scripts/browser-test.sh        (installs the toolchain first when missing: scripts/wasm-setup.sh)
#
# A loopback TCP proxy in front of the emulator (scripts/netloss-proxy.py) lets the network-loss
# test cut the page off the service for 30 s. Stops both on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
started=$(date +%s)

# The emulator: a native build, with the native toolchain (before the wasm environment).
cargo build --quiet -p guest-chat-emulator --bin guest-chat-emulator
emulator_bin="$root/target/debug/guest-chat-emulator"

. scripts/wasm-setup.sh

work="$(mktemp -d)"
emulator_pid=""
proxy_pid=""
cleanup() {
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -f "$root/crates/client/webdriver.json"
  rm -rf "$work"
}
trap cleanup EXIT

# A deployment whose Web Messaging upgrades are refused (403), for the browser's refusal test.
printf '{ "disabledDeployments": ["refused-deployment"] }\n' >"$work/emulator.json"
# Created here, not by the background job's redirections, which may come after the first read.
: >"$work/emulator.out"
: >"$work/proxy.out"
"$emulator_bin" --host 127.0.0.1 --port 0 --heartbeat-secs 5 --config "$work/emulator.json" >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^guest-chat emulator listening on \(http:[^ ]*\).*/\1/p' "$work/emulator.out")"
  [ -n "$url" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "browser-test: the emulator did not start" >&2; cat "$work/emulator.err" >&2; exit 1; }
echo "browser-test: emulator at $url"

python3 scripts/netloss-proxy.py "${url#http://}" >"$work/proxy.out" 2>"$work/proxy.err" &
proxy_pid=$!
proxy_url=""
for _ in $(seq 1 100); do
  proxy_url="$(sed -n 's/^netloss-proxy listening on \(http:[^ ]*\) control .*/\1/p' "$work/proxy.out")"
  [ -n "$proxy_url" ] && break
  kill -0 "$proxy_pid" 2>/dev/null || { cat "$work/proxy.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$proxy_url" ] || { echo "browser-test: the proxy did not start" >&2; exit 1; }
netloss_url="$(sed -n 's/^netloss-proxy listening on .* control \(http:.*\)/\1/p' "$work/proxy.out")"
echo "browser-test: proxy to the emulator at $proxy_url (its control at $netloss_url)"

# Chromium as root, headless, on a closed network (no background traffic), a fresh profile.
cat >"$root/crates/client/webdriver.json" <<EOF
{
  "goog:chromeOptions": {
    "binary": "/usr/bin/chromium",
    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--user-data-dir=$work/profile"]
  }
}
EOF

export GUEST_CHAT_EMULATOR_URL="$url"
export GUEST_CHAT_PROXY_URL="$proxy_url"
export GUEST_CHAT_NETLOSS_URL="$netloss_url"
export WASM_BINDGEN_USE_BROWSER=1
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"   # the whole run, a 30 s outage included
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
"$WASM_CARGO" test --target wasm32-unknown-unknown "$WASM_BUILD_STD" \
  --target-dir "$WASM_TARGET_DIR" -p purecloud-guest-chat-client --test browser

echo "browser-test: passed in $(($(date +%s) - started)) s"
