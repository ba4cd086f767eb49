#!/usr/bin/env bash
# Builds the JavaScript package (crates/js) once for wasm32 and runs wasm-bindgen three times:
#   crates/js/pkg/web      ES module for a <script type="module"> page (call the default init())
#   crates/js/pkg/bundler  ES module for bundlers (webpack, vite, rollup with a wasm plugin)
#   crates/js/pkg/node     CommonJS for node (>= 20: it uses the global fetch)
# plus crates/js/pkg/package.json and README.md: the npm package (not published).
# Then wasm-opt -Oz on each .wasm: binaryen from npm (the `binaryen` package, pinned below,
# installed into target/tools/binaryen when missing; it runs in node). Debian's binaryen (108)
# is not used: it breaks the module's externref table (wasm-bindgen's reference-types output).
# WASM_OPT=0 skips it.
#
# Needs the toolchain of scripts/wasm-setup.sh: Debian's rustc-web (/usr/bin/rustc, std built
# from source), wasm-ld-22 and wasm-bindgen-cli (the version pinned in crates/js/Cargo.toml).
# The wasm build has its own target dir (target/wasm), so it never invalidates the native one.
set -euo pipefail
cd "$(dirname "$0")/.."

CRATE=guest-chat-js
LIB=guest_chat_js
OUT=crates/js/pkg
TARGET_DIR=${WASM_TARGET_DIR:-target/wasm}

# The wasm toolchain (docs/browser.md): installed when missing, and its environment (Debian's
# compiler for this build only, wasm-bindgen on PATH).
# shellcheck source=scripts/wasm-setup.sh
. scripts/wasm-setup.sh
export RUSTC=${WASM_RUSTC:-/usr/bin/rustc}
export RUSTDOC=${WASM_RUSTDOC:-/usr/bin/rustdoc}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER:-wasm-ld-22}
# getrandom (uuid, rand) reaches the browser's crypto.getRandomValues through wasm-bindgen.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:-} --cfg getrandom_backend=\"wasm_js\""
# Size: a panic aborts on the spot, without formatting a message or naming its location (std
# is built from source with the same flags, so its panics too); the SDK does not panic on bad
# input, so this only shortens what would be a crash anyway.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
# Size first: the package is downloaded by every page that loads it.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}
export CARGO_PROFILE_RELEASE_LTO=${CARGO_PROFILE_RELEASE_LTO:-true}
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_DEBUG=false
CARGO=${WASM_CARGO:-/usr/bin/cargo}

WASM_BINDGEN=${WASM_BINDGEN:-$(command -v wasm-bindgen || true)}
if [ -z "$WASM_BINDGEN" ] && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen" ]; then
  WASM_BINDGEN="${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen"
fi
want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' crates/js/Cargo.toml)
if [ -z "$WASM_BINDGEN" ]; then
  echo "error: wasm-bindgen not found: run scripts/wasm-setup.sh (or cargo install wasm-bindgen-cli --version $want)" >&2
  exit 1
fi
have=$("$WASM_BINDGEN" --version | awk '{print $2}')
if [ "$have" != "$want" ]; then
  echo "error: $WASM_BINDGEN is $have but crates/js pins wasm-bindgen $want: install that version" >&2
  exit 1
fi

start=$(date +%s)
"$CARGO" build --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort \
  -p "$CRATE" --target-dir "$TARGET_DIR"
WASM="$TARGET_DIR/wasm32-unknown-unknown/release/$LIB.wasm"
echo "cargo build: $(( $(date +%s) - start )) s, $(stat -c %s "$WASM") bytes before wasm-bindgen"

# wasm-opt from npm's binaryen (node runs it): installed once into target/tools/binaryen.
BINARYEN_VERSION=132.0.0
WASM_OPT_BIN=""
if [ "${WASM_OPT:-1}" != 0 ]; then
  tools="$(pwd)/target/tools/binaryen"
  WASM_OPT_BIN="$tools/node_modules/.bin/wasm-opt"
  if ! "$WASM_OPT_BIN" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    echo "build-js: installing binaryen $BINARYEN_VERSION (npm) into $tools"
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --prefix "$tools" "binaryen@$BINARYEN_VERSION"
  fi
fi

# wasm-opt -Oz in place, with the features rustc enables for wasm32 by default (wasm-bindgen's
# externref table needs reference types). 1 to 2 min on a busy 2-core machine.
optimise() {
  "$WASM_OPT_BIN" -Oz --enable-reference-types --enable-bulk-memory --enable-sign-ext \
    --enable-mutable-globals --enable-nontrapping-float-to-int --enable-multivalue \
    "$1" -o "$1.opt"
  mv "$1.opt" "$1"
}

rm -rf "$OUT"
unopt=""
for target in web bundler nodejs; do
  dir=$target
  [ "$target" = nodejs ] && dir=node
  # The name section (function names, ~300 KB) only serves debugging; panics abort.
  "$WASM_BINDGEN" --target "$target" --remove-name-section --remove-producers-section --out-dir "$OUT/$dir" "$WASM"
  bg="$OUT/$dir/${LIB}_bg.wasm"
  [ -n "$WASM_OPT_BIN" ] || continue
  if [ -z "$unopt" ]; then
    echo "wasm-bindgen: $(stat -c %s "$bg") bytes of wasm"
    unopt="$OUT/.unoptimised.wasm"
    cp "$bg" "$unopt"
    opt_start=$(date +%s)
    optimise "$bg"
    optimised="$bg"
    echo "wasm-opt: $(( $(date +%s) - opt_start )) s"
  elif cmp -s "$bg" "$unopt"; then
    # wasm-bindgen gave the same module to every target (only the JavaScript differs).
    cp "$optimised" "$bg"
  else
    optimise "$bg"
  fi
done
rm -f "$OUT/.unoptimised.wasm"
# The node build is CommonJS inside a package whose other builds are ES modules.
printf '{ "type": "commonjs", "main": "%s.js", "types": "%s.d.ts" }\n' "$LIB" "$LIB" > "$OUT/node/package.json"
cp crates/js/package.json crates/js/README.md crates/js/LICENSE "$OUT/"

size=$(stat -c %s "$OUT/web/${LIB}_bg.wasm")
gz=$(gzip -9 -c "$OUT/web/${LIB}_bg.wasm" | wc -c)
echo "package: $OUT ($((size / 1024)) KB of wasm after wasm-bindgen${WASM_OPT_BIN:+ and wasm-opt}, $((gz / 1024)) KB gzipped; total $(du -sk "$OUT/web" | cut -f1) KB for the web build)"
echo "built in $(( $(date +%s) - start )) s"
