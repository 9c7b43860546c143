#!/usr/bin/env bash
# A real terminal run of the TUI in tmux: build a demo vault, log in as a member of staff, open a
# record (its text must be on screen then), quit; afterwards neither the pane nor its scrollback
# may hold any of the record's text. Exit 0 on success, 1 with a sentence otherwise.
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

wait_for() {  # wait until the pane shows $1 (up to 20 s)
    for _ in $(seq 1 80); do
        tmux capture-pane -p -t "$SESSION" | grep -q -- "$1" && return 0
        sleep 0.25
    done
    echo "tui_smoke: the screen never showed '$1'." >&2
    tmux capture-pane -p -t "$SESSION" >&2
    exit 1
}

tmux new-session -d -s "$SESSION" -x 100 -y 30 "'$BIN' --vault '$VAULT'; echo TUI-EXITED; sleep 60"
wait_for "Unlock"
tmux send-keys -t "$SESSION" "sam"; sleep 0.3; tmux send-keys -t "$SESSION" Enter; sleep 0.3
tmux send-keys -t "$SESSION" "$PASSWORD"; sleep 0.3; tmux send-keys -t "$SESSION" Enter
wait_for "Page 1"
# The newest record first; go down to the one with the canary text and open it.
tmux send-keys -t "$SESSION" Down; sleep 0.3; tmux send-keys -t "$SESSION" Enter
wait_for "stepdad shouts"
tmux send-keys -t "$SESSION" C-q
wait_for "TUI-EXITED"

tmux capture-pane -p -S - -E - -t "$SESSION" > "$WORK/after.txt"
for secret in "${SECRETS[@]}"; do
    if grep -q -- "$secret" "$WORK/after.txt"; then
        echo "tui_smoke: record text ('$secret') was left in the terminal after exit." >&2
        exit 1
    fi
done
echo "tui_smoke: logged in, opened a record, quit; nothing of it left in the pane or scrollback."
