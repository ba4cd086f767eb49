#!/usr/bin/env bash
# The browser (wasm32) toolchain: installs what is missing, then sets the environment a wasm
# build needs. Idempotent: a second run installs nothing and takes well under a second.
#
#   scripts/wasm-setup.sh          install (when missing) and print the environment
#   . scripts/wasm-setup.sh        the same, and keep the environment in this shell
#
# What it installs (only when missing):
#   - from Debian, in one apt call so their versions match: rustc-web cargo-web rust-web-src
#     (a rustc/cargo whose standard library sources can be built for wasm32 with
#     -Zbuild-std), lld-22 (wasm-ld), chromium and chromium-driver (the browser tests);
#   - from crates.io: wasm-bindgen-cli, the exact version of the wasm-bindgen crate the
#     workspace pins, into target/tools/wasm-bindgen (kept between CI steps). A
#     wasm-bindgen of that version already on PATH is used instead.
#
# What it exports: WASM_CARGO (Debian's cargo), RUSTC/RUSTDOC (Debian's, for wasm builds
# only: run native builds in another shell or unset them), RUSTC_BOOTSTRAP=1,
# CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER, WASM_TARGET_DIR (target/wasm, apart from the
# native build), WASM_BUILD_STD (the -Z flag), CHROMEDRIVER, and PATH with wasm-bindgen.

_wasm_setup() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local bindgen_version=0.2.130
  local packages=(rustc-web cargo-web rust-web-src lld-22 chromium chromium-driver)

  local missing=()
  local p
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "wasm-setup: installing ${missing[*]} from Debian" >&2
    $sudo apt-get update -qq >&2 || return 1
    # All of them in one call, so that rustc-web, cargo-web and rust-web-src match.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${packages[@]}" >&2 || return 1
  fi

  local tools="$root/target/tools/wasm-bindgen"
  local have=""
  if command -v wasm-bindgen >/dev/null 2>&1; then
    have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
  fi
  if [ "$have" != "$bindgen_version" ]; then
    if [ ! -x "$tools/bin/wasm-bindgen-test-runner" ] ||
      [ "$("$tools/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
      echo "wasm-setup: installing wasm-bindgen-cli $bindgen_version into $tools (about 4 minutes)" >&2
      # Without --locked: its lock file may name versions newer than the registry serves.
      cargo install --quiet --root "$tools" wasm-bindgen-cli --version "=$bindgen_version" >&2 || return 1
    fi
    export PATH="$tools/bin:$PATH"
  fi

  export WASM_CARGO=/usr/bin/cargo
  export RUSTC=/usr/bin/rustc
  export RUSTDOC=/usr/bin/rustdoc
  export RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
  export WASM_TARGET_DIR="$root/target/wasm"
  export WASM_BUILD_STD="-Zbuild-std=std,panic_abort"
  export CHROMEDRIVER=/usr/bin/chromedriver
  echo "wasm-setup: $($RUSTC --version), wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), $(chromium --version 2>/dev/null | head -1)" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Executed: install, report, and print the environment for a caller to eval.
  set -euo pipefail
  _wasm_setup
  for v in PATH WASM_CARGO RUSTC RUSTDOC RUSTC_BOOTSTRAP CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER \
    WASM_TARGET_DIR WASM_BUILD_STD CHROMEDRIVER; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
else
  _wasm_setup
fi
