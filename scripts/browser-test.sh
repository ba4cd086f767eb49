#!/usr/bin/env bash
# The SDK in headless Chromium: crates/client/tests/browser.rs (wasm-bindgen-test) chats with
# the emulator, which runs as its own process on a loopback port while wasm-bindgen-test-runner
# serves the test page on another (so every call is cross-origin, as from a real page).
#
#   scripts/browser-test.sh        (installs the toolchain first when missing: scripts/wasm-setup.sh)
#
# Stops the emulator on exit, whatever happens.
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
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -f "$root/crates/client/webdriver.json"
  rm -rf "$work"
}
trap cleanup EXIT

"$emulator_bin" --host 127.0.0.1 --port 0 --heartbeat-secs 5 >"$work/emulator.out" 2>"$work/emulator.err" &
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
export WASM_BINDGEN_USE_BROWSER=1
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
"$WASM_CARGO" test --target wasm32-unknown-unknown "$WASM_BUILD_STD" \
  --target-dir "$WASM_TARGET_DIR" -p purecloud-guest-chat-client --test browser

echo "browser-test: passed in $(($(date +%s) - started)) s"
