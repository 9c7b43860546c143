"""The leak campaign (SPEC §9): unique canaries, ASCII and non-ASCII (so that their UTF-16 form
differs from any UTF-8 one), planted in 200 records, their addenda, disclosures and case notes;
then every command is run, what the vault keeps encrypted given in files, never on the command
line; then every byte of every file the vault, its backup and its restored copy, the exports, the
checkpoint and the temporary directory hold is scanned, with everything the commands printed and
every command line they were run with: zero hits.

Two commands print record text on purpose, to the person who asked for it: ``record show`` and
``case show``. Their output is checked to hold only the canaries of what was asked for.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHEAP, CliResult
from tests.security._util import all_bytes, hits
from tests.security.test_canary import recent_temp_files
from vault.session import Vault

RECORDS = 200
PW = {"alice": "alice's long password", "sam": "sam's long password", "sofia": "sofia's long password",
      "ada": "ada's long password", "lee": "lee's long password"}


def _canary(kind: str, i: int) -> str:
    return f"LEAK{kind}{i}x{uuid.uuid4().hex[:12]}" + ("" if kind in ("A", "C") else "Жé")


def _recovery_code(vault_dir: Path) -> str:
    return (vault_dir.parent / "recovery-code").read_text().strip()




@pytest.mark.slow
def test_no_canary_reaches_any_file_or_output(cli: Any, tmp_path: Path, private_tmp: Path) -> None:
    started = time.time() - 1
    printed: list[str] = []
    argv: list[str] = []  # every command line run: visible to every local user, so scanned too
    inputs = tmp_path / "inputs"  # what a person gives the CLI: their own files, not the vault's
    inputs.mkdir()

    def run(*args: str, user: str | None = None, stdin: str = "", ok: bool = True,
            shows_text: bool = False) -> CliResult:
        extra = ("--user", user, "--password-stdin") if user else ()
        argv.extend((*args, *extra))
        result: CliResult = cli(*args, *extra, stdin=(PW[user] + "\n" if user else "") + stdin)
        assert (result.code == 0) == ok, (args, result.err)
        printed.append(result.err if shows_text else result.out + result.err)
        return result

    made = run("init", "--admin", "alice", "--role", "safeguarding_officer", "--password-stdin",
               stdin=PW["alice"] + "\n")
    (tmp_path / "recovery-code").write_text(made.last_line)  # the trustees' safe, not scanned
    for name, role in (("sam", "staff"), ("sofia", "safeguarding_officer"), ("ada", "auditor"),
                       ("lee", "line_manager")):
        one_time = run("user", "add", name, "--role", role, user="alice").last_line
        argv.extend(("passwd", "--user", name, "--password-stdin"))
        cli("passwd", "--user", name, "--password-stdin", stdin=f"{one_time}\n{PW[name]}\n")
    vault_dir = tmp_path / "cli-vault"

    # 200 records by the API (the CLI's own writing is exercised below), each with its canaries.
    canaries: dict[str, str] = {}
    refs: list[str] = []
    with Vault(vault_dir, argon2=CHEAP).unlock("sam", PW["sam"]) as sam:
        for i in range(RECORDS):
            words, seen, later = _canary("A", i), _canary("U", i), _canary("C", i)
            ref = sam.create_record({"own_words": f"She said {words}.", "observations": f"Seen: {seen}"})
            sam.add_addendum(ref, f"Later: {later}")
            canaries |= {words: ref, seen: ref, later: ref}
            refs.append(ref)
            if i % 4 == 0:
                sam.refer_record(ref)

    # Every command, by the CLI.
    note = inputs / "note.txt"
    note.write_text(f"Decided {_canary('N', 0)}: refer.")
    canaries[note.read_text().split()[1].rstrip(":")] = "case note"
    addendum = inputs / "addendum.txt"
    addendum.write_text(f"Also {_canary('D', 0)}.")
    canaries[addendum.read_text().split()[1].rstrip(".")] = "addendum"
    summary = inputs / "summary.txt"
    summary.write_text(f"Shared {_canary('S', 0)} with the duty team.")
    record_json = inputs / "record.json"
    record_json.write_text(json.dumps({"own_words": f"CLI {_canary('J', 0)}", "observations": "o"}))
    canaries[json.loads(record_json.read_text())["own_words"].split()[1]] = "cli record"
    canaries[summary.read_text().split()[1]] = "disclosure"
    one_liners = {}  # the values once given as options: --to, --basis, --outcome, --subject-born
    for name, value, label in (("party", f"Police {_canary('P', 0)}", "disclosure"),
                               ("basis", f"Act {_canary('B', 0)}", "disclosure"),
                               ("referred-to", f"Team {_canary('R', 0)}", "case note"),
                               ("outcome", f"Closed {_canary('O', 0)}", "case note"),
                               ("born", str(date(2010, 1, 1) + timedelta(days=uuid.uuid4().int % 2900)),
                                "case note")):
        one_liners[name] = inputs / f"{name}.txt"
        one_liners[name].write_text(value + "\n")
        canaries[value.split()[-1]] = label
    guidance_input = inputs / "draft.txt"
    guidance_input.write_text(f"He obviously hit her {_canary('G', 0)}.")
    canaries[guidance_input.read_text().split()[-1].rstrip(".")] = "guidance input"

    new_ref = run("record", "new", "--from-json", str(record_json), user="sam").last_line
    run("record", "list", user="sam")
    run("record", "history", refs[1], user="sam")
    run("record", "addendum", refs[1], "--text-file", str(addendum), user="sam")
    run("record", "share", refs[1], "--to", "lee", "--reason", "line_manager_advice", user="sam")
    run("record", "revoke", refs[1], "--from", "lee", user="sam")
    run("record", "disclose", refs[1], "--to-file", str(one_liners["party"]), "--basis-file",
        str(one_liners["basis"]), "--summary-file", str(summary), user="sam")
    run("record", "refer", new_ref, user="sam")
    run("record", "submit", refs[2], user="sam", ok=False)  # already submitted: one sentence
    draft = run("record", "new", "--from-json", str(record_json), "--draft", user="sam").last_line
    run("record", "submit", draft, user="sam")
    run("guidance", "check", str(guidance_input))
    run("case", "referrals", user="sofia")
    case = run("case", "open", refs[0], refs[4], user="sofia").last_line
    run("case", "link", case, refs[8], user="sofia")
    run("case", "assign", case, "alice", user="sofia")
    run("case", "decide", case, "--text-file", str(note), "--kind", "no_referral", user="sofia")
    run("case", "decide", case, "--text-file", str(note), "--kind", "external_referral", "--to-file",
        str(one_liners["referred-to"]), user="sofia")
    run("case", "list", user="sofia")
    run("case", "close", case, "--outcome-file", str(one_liners["outcome"]), "--subject-born-file",
        str(one_liners["born"]), user="sofia")
    run("case", "retention", user="sofia")
    run("case", "rules", user="sofia")
    exports = tmp_path / "exports"
    exports.mkdir()
    for fmt in ("csv", "jsonl"):
        run("audit", "export", "--format", fmt, "--out", str(exports / f"log.{fmt}"), user="ada")
    run("audit", "export", "--format", "jsonl", user="ada")  # to stdout
    (exports / "cp.json").write_text(run("audit", "checkpoint", user="ada").out)
    run("audit", "verify", "--checkpoint", str(exports / "cp.json"), user="ada")
    run("user", "list", user="alice")
    run("user", "reset", "ada", user="alice", stdin=_recovery_code(vault_dir) + "\n")
    run("user", "disable", "lee", user="alice")
    run("backup", str(exports / "vault.backup"), user="alice")
    run("restore", str(exports / "vault.backup"), "--vault", str(tmp_path / "restored"), user="alice")
    run("rekey", user="alice")

    # What is printed on purpose: one record, or one case, to someone allowed to read it.
    shown = run("record", "show", refs[1], user="sam", shows_text=True).out
    assert {r for c, r in canaries.items() if c in shown} == {refs[1], "addendum", "disclosure"}
    case_shown = run("case", "show", case, user="sofia", shows_text=True).out
    in_case = {r for c, r in canaries.items() if c in case_shown}
    assert in_case <= {refs[0], refs[4], refs[8], "case note"} and "case note" in in_case
    assert all(c in case_shown for c, r in canaries.items() if r == "case note")

    # The scan: every file, the temporary files, everything else printed.
    roots = [vault_dir, tmp_path / "restored", exports, private_tmp]
    files = all_bytes(roots)
    for p in recent_temp_files(started, exclude=tmp_path):
        try:
            files[p] = p.read_bytes()
        except OSError:
            continue
    files[Path("<printed>")] = "\n".join(printed).encode("utf-8")
    files[Path("<argv>")] = "\n".join(argv).encode("utf-8")
    assert len(files) > 8 and sum(len(b) for b in files.values()) > 1_000_000
    leaks = [hit for secret in canaries for hit in hits(files, secret)]
    for password in PW.values():
        leaks += hits(files, password)
    # The recovery code is printed once by init, by contract; no file holds it.
    leaks += hits({p: b for p, b in files.items() if p != Path("<printed>")}, _recovery_code(vault_dir))
    assert not leaks, leaks[:5]
