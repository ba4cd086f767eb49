#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ on the stable toolchain (see docs/fuzzing.md).
#
#   scripts/fuzz.sh                 every target for 30 s (what CI runs)
#   scripts/fuzz.sh SECONDS         every target for SECONDS
#   scripts/fuzz.sh TARGET [ARGS]   one target; ARGS go to libFuzzer (-runs=N, -max_total_time=S)
#
# Installs cargo-fuzz when it is missing. RUSTC_BOOTSTRAP=1 lets the stable compiler take the
# flags cargo-fuzz passes; `-s none` builds without a sanitizer (the code is safe Rust; see
# the docs for an AddressSanitizer build). New corpus entries go to fuzz/corpus/TARGET (not
# committed); fuzz/seeds/TARGET is the committed starting corpus, read only.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
CARGO_FUZZ_VERSION=0.13.2
export RUSTC_BOOTSTRAP=1
SANITIZER="${FUZZ_SANITIZER:-none}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz missing: cargo install cargo-fuzz@$CARGO_FUZZ_VERSION"
  start=$(date +%s)
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  echo "cargo-fuzz installed in $(( $(date +%s) - start )) s"
fi

run_one() {
  local target=$1
  shift
  mkdir -p "corpus/$target"
  cargo fuzz run -s "$SANITIZER" "$target" "corpus/$target" "seeds/$target" -- "$@"
}

if [ $# -ge 1 ] && ! [[ $1 =~ ^[0-9]+$ ]]; then
  run_one "$@"
  exit
fi

seconds=${1:-30}
start=$(date +%s)
cargo fuzz build -s "$SANITIZER"
echo "fuzz targets built in $(( $(date +%s) - start )) s"
# Two targets at a time (FUZZ_JOBS): each libFuzzer process keeps one core busy.
jobs=${FUZZ_JOBS:-2}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
mapfile -t targets < <(cargo fuzz list)
failed=0
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  batch=("${targets[@]:i:jobs}")
  pids=()
  for target in "${batch[@]}"; do
    run_one "$target" -max_total_time="$seconds" -print_final_stats=1 >"$logs/$target" 2>&1 &
    pids+=($!)
  done
  for k in "${!batch[@]}"; do
    target=${batch[$k]}
    if wait "${pids[$k]}"; then verdict=ok; else verdict=FAILED; failed=1; fi
    echo "--- $target: $seconds s, $verdict"
    # The progress lines (NEW, REDUCE, pulse) are dropped; a crash report is printed whole.
    sed -E '/^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)/d' "$logs/$target"
  done
done
exit "$failed"
