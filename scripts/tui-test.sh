#!/usr/bin/env bash
# Drives the real terminal UI (`guest-chat chat`) under tmux: with the embedded emulator,
# type a message, see the echo agent's reply, resize, /leave, check the end screen, quit
# (exit 0); then against standalone emulators, the exit-code table: the agent ends the chat
# (exit 0), the service ends it (exit 1); Web Messaging with --token-file (quitting keeps the
# conversation, the next run resumes it, /leave ends it).
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

# A tmux server of our own: another user's sessions (or their server exiting) cannot race ours.
SOCKET="guest-chat-tui-test-$$"
tm() { tmux -L "$SOCKET" "$@"; }

WORK="$(mktemp -d)"
EMULATOR_PID=""
cleanup() {
  tm kill-server 2>/dev/null || true
  if [ -n "$EMULATOR_PID" ]; then kill "$EMULATOR_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

screen() { tm capture-pane -p -t "$SESSION" 2>/dev/null || true; }

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
tm new-session -d -s "$SESSION" -x 80 -y 24 \
  "$BIN chat; echo \"guest-chat exited with status \$?\"; sleep 60"

wait_for "chat connected to an agent" || fail "the chat did not connect to the agent"
pass "chat started and the agent joined"
wait_for "Hello Ada" || fail "no greeting from the agent"
pass "agent greeting shown"

tm send-keys -t "$SESSION" -l "$MESSAGE"
tm send-keys -t "$SESSION" Enter
wait_for "You said: $MESSAGE" || fail "no echo reply 'You said: $MESSAGE'"
pass "message sent and the agent's reply 'You said: $MESSAGE' shown (80x24)"

screen | grep -qF "Members" || fail "member list not shown"
screen | grep -qF "agent · connected" || fail "agent state not shown in the member list"
pass "member list shows the connected agent"

tm resize-window -t "$SESSION" -x 100 -y 30
sleep 0.5
rows=$(screen | wc -l)
[ "$rows" -ge 30 ] || fail "window did not resize (rows: $rows)"
wait_for "You said: $MESSAGE" || fail "transcript lost after resize"
screen | grep -qF "Transcript" || fail "transcript pane missing after resize"
pass "resized to 100x30, transcript still shown"

tm send-keys -t "$SESSION" -l "/leave"
tm send-keys -t "$SESSION" Enter
wait_for "Chat ended" || fail "no end-of-chat screen after /leave"
wait_for "Press q" || fail "end-of-chat screen does not say how to quit"
pass "end-of-chat screen shown after /leave"

tm send-keys -t "$SESSION" q
wait_for "guest-chat exited with status 0" || fail "guest-chat did not exit with status 0 after q"
pass "q on the end screen exits with status 0"
screen | grep -qF "guest-chat: chat ended" || fail "no summary line after exit"
pass "summary line printed after the terminal was restored"

# A standalone emulator with these flags; sets EMULATOR_URL and EMULATOR_PID.
start_emulator() {
  local out="$WORK/emulator.out" deadline=$((SECONDS + TIMEOUT_SECS))
  : >"$out"
  "$BIN" emulator --port 0 --agent-delay-ms 50 "$@" >"$out" 2>/dev/null &
  EMULATOR_PID=$!
  while [ "$SECONDS" -lt "$deadline" ]; do
    EMULATOR_URL="$(sed -n 's/^guest-chat emulator listening on \([^ ]*\).*/\1/p' "$out")"
    if [ -n "$EMULATOR_URL" ]; then return 0; fi
    sleep 0.2
  done
  fail "the standalone emulator did not start"
}

stop_emulator() {
  kill "$EMULATOR_PID" 2>/dev/null || true
  wait "$EMULATOR_PID" 2>/dev/null || true
  EMULATOR_PID=""
}

# A new session before the old one is killed: killing the server's last session makes it exit,
# and a new-session racing that exit fails ("server exited unexpectedly"). `=` matches the
# old name exactly (a bare name also matches as a prefix of the new one).
RUN=0
new_session() {
  local old="$SESSION"
  RUN=$((RUN + 1))
  SESSION="guest-chat-tui-test-$$-$RUN"
  tm new-session -d -s "$SESSION" "$@"
  tm kill-session -t "=$old" 2>/dev/null || true
}

# `guest-chat chat` against the standalone emulator in a fresh tmux session.
chat_against_emulator() {
  new_session -x 80 -y 24 \
    "$BIN chat -e $EMULATOR_URL --organization-id o --deployment-id d --queue Support; echo \"guest-chat exited with status \$?\"; sleep 60"
}

# One control-API request (curl, or Python where curl is missing).
control() {
  local method="$1" url="$2"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -X "$method" "$url"
  else
    python3 -c 'import sys, urllib.request as u; print(u.urlopen(u.Request(sys.argv[2], method=sys.argv[1])).read().decode())' "$method" "$url"
  fi
}

printf 'say that is all from me\nend\n' >"$WORK/agent.txt"
start_emulator --agent "script:$WORK/agent.txt"
chat_against_emulator
wait_for "the agent ended the chat" || fail "no end screen when the agent ended the chat"
tm send-keys -t "$SESSION" q
wait_for "guest-chat exited with status 0" || fail "the agent ended the chat, but the exit status is not 0"
pass "the agent ended the chat: exit status 0"
stop_emulator

start_emulator
chat_against_emulator
wait_for "Hello Ada" || fail "no greeting from the standalone emulator's agent"
cid="$(control GET "$EMULATOR_URL/emulator/conversations" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')"
[ -n "$cid" ] || fail "no conversation listed by the emulator"
control DELETE "$EMULATOR_URL/emulator/conversations/$cid" >/dev/null
wait_for "Chat ended" || fail "no end screen when the service ended the chat"
tm send-keys -t "$SESSION" q
wait_for "guest-chat exited with status 1" || fail "the service ended the chat, but the exit status is not 1"
screen | grep -qF "error: " || fail "no error line after the service ended the chat"
pass "the service ended the chat: exit status 1 with an error line"
stop_emulator

start_emulator
chat_against_emulator
wait_for "Hello Ada" || fail "no greeting from the standalone emulator's agent"
cid="$(control GET "$EMULATOR_URL/emulator/conversations" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')"
tm send-keys -t "$SESSION" C-c
wait_for "guest-chat exited with status 0" || fail "Ctrl-C in a live chat did not exit with status 0"
guest_state="$(control GET "$EMULATOR_URL/emulator/conversations/$cid" | python3 -c '
import json, sys
c = json.load(sys.stdin)
print(next(m["state"] for m in c["members"] if m["id"] == c["guestId"]))')"
[ "$guest_state" = "DISCONNECTED" ] || fail "Ctrl-C did not leave the chat (guest is $guest_state)"
pass "Ctrl-C in a live chat leaves it (the emulator has the guest DISCONNECTED): exit status 0"
stop_emulator

# Web Messaging with --token-file: quitting keeps the conversation, the next run resumes it,
# and only /leave ends it.
TOKEN_FILE="$WORK/wm-token"
wm_chat() {
  new_session -x 100 -y 30 \
    "$BIN chat --web-messaging -e $EMULATOR_URL --deployment-id d --token-file $TOKEN_FILE; echo \"guest-chat exited with status \$?\"; sleep 60"
}
wm_sessions() { control GET "$EMULATOR_URL/emulator/webmessaging/sessions"; }
start_emulator
wm_chat
wait_for "chat over Web Messaging started" || fail "the Web Messaging chat did not start"
tm send-keys -t "$SESSION" -l "kept $$"
tm send-keys -t "$SESSION" Enter
wait_for "You said: kept $$" || fail "no echo reply over Web Messaging"
tm send-keys -t "$SESSION" -l "/quit"
tm send-keys -t "$SESSION" Enter
wait_for "guest-chat exited with status 0" || fail "/quit over Web Messaging did not exit with status 0"
screen | grep -qF "conversation kept" || fail "no 'conversation kept' summary after /quit with --token-file"
[ -s "$TOKEN_FILE" ] || fail "the token file was not written"
wm_sessions | grep -qF '"messages":2' || fail "/quit with --token-file ended the conversation: $(wm_sessions)"
pass "Web Messaging: /quit with --token-file keeps the conversation (exit status 0)"
wm_chat
wait_for "conversation resumed from --token-file" || fail "the next run did not resume the conversation"
tm send-keys -t "$SESSION" -l "/leave"
tm send-keys -t "$SESSION" Enter
wait_for "Chat ended" || fail "no end screen after /leave over Web Messaging"
tm send-keys -t "$SESSION" q
wait_for "guest-chat exited with status 0" || fail "/leave over Web Messaging did not exit with status 0"
[ "$(wm_sessions)" = "[]" ] || fail "/leave did not end the conversation: $(wm_sessions)"
pass "Web Messaging: the next run resumes it, /leave ends it"
stop_emulator

[ "$FAILED" -eq 0 ] && echo "PASS: terminal UI test"
