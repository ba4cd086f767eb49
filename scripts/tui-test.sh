#!/usr/bin/env bash
# Drives the real terminal UI (`guest-chat chat`, embedded emulator) under tmux:
# type a message, see the echo agent's reply, resize, /leave, check the end screen, quit.
# Needs tmux and a built binary (cargo build -p guest-chat-cli). Prints PASS/FAIL lines;
# exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${GUEST_CHAT_BIN:-target/debug/guest-chat}"
SESSION="guest-chat-tui-test-$$"
TIMEOUT_SECS="${TUI_TEST_TIMEOUT:-15}"
MESSAGE="hi tmux $$"
FAILED=0

if ! command -v tmux >/dev/null 2>&1; then
  echo "FAIL: tmux is not installed (apt-get install -y tmux)"
  exit 1
fi
if [ ! -x "$BIN" ]; then
  echo "FAIL: $BIN not found; run: cargo build -p guest-chat-cli"
  exit 1
fi

cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$SESSION" 2>/dev/null || true; }

pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*"
  echo "----- screen -----"
  screen
  echo "------------------"
  exit 1
}

# Polls the screen every 0.2 s until it contains $1 (fixed string) or the deadline passes.
wait_for() {
  local needle="$1" deadline=$((SECONDS + TIMEOUT_SECS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if screen | grep -qF -- "$needle"; then return 0; fi
    sleep 0.2
  done
  return 1
}

# The pane runs the chat, then prints the exit status and waits, so we can read both.
tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "$BIN chat; echo \"guest-chat exited with status \$?\"; sleep 60"

wait_for "chat connected to an agent" || fail "the chat did not connect to the agent"
pass "chat started and the agent joined"
wait_for "Hello Ada" || fail "no greeting from the agent"
pass "agent greeting shown"

tmux send-keys -t "$SESSION" -l "$MESSAGE"
tmux send-keys -t "$SESSION" Enter
wait_for "You said: $MESSAGE" || fail "no echo reply 'You said: $MESSAGE'"
pass "message sent and the agent's reply 'You said: $MESSAGE' shown (80x24)"

screen | grep -qF "Members" || fail "member list not shown"
screen | grep -qF "agent · connected" || fail "agent state not shown in the member list"
pass "member list shows the connected agent"

tmux resize-window -t "$SESSION" -x 100 -y 30
sleep 0.5
rows=$(screen | wc -l)
[ "$rows" -ge 30 ] || fail "window did not resize (rows: $rows)"
wait_for "You said: $MESSAGE" || fail "transcript lost after resize"
screen | grep -qF "Transcript" || fail "transcript pane missing after resize"
pass "resized to 100x30, transcript still shown"

tmux send-keys -t "$SESSION" -l "/leave"
tmux send-keys -t "$SESSION" Enter
wait_for "Chat ended" || fail "no end-of-chat screen after /leave"
wait_for "Press q" || fail "end-of-chat screen does not say how to quit"
pass "end-of-chat screen shown after /leave"

tmux send-keys -t "$SESSION" q
wait_for "guest-chat exited with status 0" || fail "guest-chat did not exit with status 0 after q"
pass "q on the end screen exits with status 0"
screen | grep -qF "guest-chat: chat ended" || fail "no summary line after exit"
pass "summary line printed after the terminal was restored"

[ "$FAILED" -eq 0 ] && echo "PASS: terminal UI test"
