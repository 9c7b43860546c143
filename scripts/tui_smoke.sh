#!/usr/bin/env bash
# A real terminal run of the TUI in tmux: build a demo vault, log in as a member of staff, open a
# record (its text must be on screen then), quit; afterwards neither the pane nor its scrollback
# may hold any of the record's text. Exit 0 on success, 1 with a sentence otherwise.
#
# No step sleeps for a fixed time: each waits until the screen shows what it waited for (a key
# sent before the focus has moved would go to the wrong field). How long each may take is scaled
# from how long the TUI took to show its login screen in this run.
set -euo pipefail

BIN="${INCIDENT_VAULT_BIN:-$(dirname "$0")/../.venv/bin/incident-vault}"
SESSION="iv-smoke-$$"
WORK="$(mktemp -d)"
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v tmux >/dev/null || { echo "tui_smoke: tmux is not installed." >&2; exit 1; }

"$BIN" demo --print > "$WORK/demo.txt"
VAULT="$(tail -n 1 "$WORK/demo.txt")"
PASSWORD="$(awk '$1 == "sam" {print $2}' "$WORK/demo.txt")"
# Words from the demo records: they are on screen while a record is open, and nowhere after.
SECRETS=("stepdad shouts" "Demo resident A" "quiet room")

PATIENCE=120  # seconds the login screen may take to appear; the later steps' bound comes from it

pane() { tmux capture-pane -p -t "$SESSION"; }
shows() { grep -q -- "$1" <<< "$(pane)"; }
cursor_below() { (( $(tmux display -p -t "$SESSION" '#{cursor_y}') > $1 )); }  # the focused field's cursor
microseconds() { echo "${EPOCHREALTIME//[.,]/}"; }

wait_until() {  # wait until the command after $1 succeeds; $1 says what is awaited
    local what="$1" give_up=$(( SECONDS + PATIENCE ))
    shift
    until "$@"; do
        if (( SECONDS > give_up )); then
            echo "tui_smoke: $what did not happen within $PATIENCE s." >&2
            pane >&2
            exit 1
        fi
        sleep 0.05
    done
}

started="$(microseconds)"
tmux new-session -d -s "$SESSION" -x 100 -y 30 "'$BIN' --vault '$VAULT'; echo TUI-EXITED; sleep 60"
wait_until "the login screen" shows "Unlock"
# Ten times the start-up (an import-heavy, CPU-bound step, like those below), and at least 20 s.
PATIENCE=$(( ($(microseconds) - started) * 10 / 1000000 ))
(( PATIENCE >= 20 )) || PATIENCE=20

tmux send-keys -t "$SESSION" "sam"
wait_until "the username being typed" shows "  sam  "
username_row=$(( $(grep -n -m 1 -- "  sam  " <<< "$(pane)" | cut -d: -f1) - 1 ))
tmux send-keys -t "$SESSION" Enter
wait_until "the focus moving to the password" cursor_below "$username_row"
tmux send-keys -t "$SESSION" "$PASSWORD"
wait_until "the password being typed" shows "$(printf '•%.0s' $(seq 1 "${#PASSWORD}"))"
tmux send-keys -t "$SESSION" Enter
wait_until "the records list" shows "Page 1"
# The newest record first; go down to the one with the canary text and open it (both keys go to
# the list, in order).
tmux send-keys -t "$SESSION" Down Enter
wait_until "the record being shown" shows "stepdad shouts"
tmux send-keys -t "$SESSION" C-q
wait_until "the TUI exiting" shows "TUI-EXITED"

tmux capture-pane -p -S - -E - -t "$SESSION" > "$WORK/after.txt"
for secret in "${SECRETS[@]}"; do
    if grep -q -- "$secret" "$WORK/after.txt"; then
        echo "tui_smoke: record text ('$secret') was left in the terminal after exit." >&2
        exit 1
    fi
done
echo "tui_smoke: logged in, opened a record, quit; nothing of it left in the pane or scrollback (each step allowed ${PATIENCE} s)."
