"""The bad-input campaign (SPEC §9): generated record JSON, checkpoint files, backup files and
command lines. Whatever comes in, the answer is a :class:`VaultError` sentence (or, on the command
line, one line on stderr and a non-zero exit), never a traceback; and a refused input changes
nothing on disk. (Damaged and foreign ``vault.keys`` and ``vault.db`` files are in
``test_bad_files.py``.)"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, CliResult
from tests.security._util import assert_one_sentence, snapshot
from vault import audit, backup, record_schema
from vault.errors import InvalidInput, VaultError
from vault.session import Vault


def fuzz(examples: int) -> settings:
    """Reproducible (the same examples on every run, so CI is stable) and without a deadline
    (these machines are shared)."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


@fuzz(150)
@given(data=st.dictionaries(st.sampled_from(sorted(record_schema.FIELDS)), JSON_VALUES, max_size=8))
def test_generated_record_json_is_accepted_or_refused_in_one_sentence(built: Built, data: dict[str, Any]) -> None:
    if "sam" not in built.passwords:
        built.add("sam", "staff")
    with built.unlock("sam") as sam:
        with sam.read() as conn:  # as an insider counts them
            before = conn.exec_driver_sql("SELECT count(*) FROM records").scalar()
        try:
            ref = sam.create_record(data)
        except VaultError as exc:
            assert_one_sentence(exc)
            with sam.read() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM records").scalar() == before
        else:
            assert sam.view_record(ref).reference == ref


@fuzz(300)
@given(text=st.text(max_size=300) | JSON_VALUES.map(json.dumps)
       | st.fixed_dictionaries({"vault_id": JSON_VALUES, "seq": JSON_VALUES, "head": JSON_VALUES}).map(json.dumps))
def test_generated_checkpoints_are_a_checkpoint_or_one_sentence(text: str) -> None:
    try:
        cp = audit.Checkpoint.from_json(text)
    except InvalidInput as exc:
        assert_one_sentence(exc)
    else:
        assert cp.seq >= 1 and len(cp.head) == 32


@pytest.fixture(scope="module")
def made_backup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    directory = tmp_path_factory.mktemp("fuzz-backup")
    vault, _code = Vault.init(directory / "vault", ADMIN, ADMIN_PW, argon2=CHEAP)
    with vault.unlock(ADMIN, ADMIN_PW) as admin:
        admin.backup(directory / "good")
    return directory, (directory / "good").read_bytes()


def _mutations() -> st.SearchStrategy[tuple[str, int, int]]:
    return st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.floats(0, 1), st.integers(0, 255))


@fuzz(60)
@given(mutation=_mutations())
def test_mutated_backups_are_refused_in_one_sentence_leaving_nothing(
        made_backup: tuple[Path, bytes], tmp_path: Path, mutation: tuple[str, float, int]) -> None:
    _directory, good = made_backup
    how, where, value = mutation
    at = min(int(len(good) * where), len(good) - 1)
    if how == "flip":
        bad = good[:at] + bytes([good[at] ^ (value or 1)]) + good[at + 1:]
    elif how == "cut":
        bad = good[:at]
    else:
        bad = good[:at] + bytes([value]) + good[at:]
    path = tmp_path / "bad"
    path.write_bytes(bad)
    target = tmp_path / f"restored-{how}-{at}"
    try:
        backup.restore(Vault(target, argon2=CHEAP), path, ADMIN, ADMIN_PW)
    except VaultError as exc:
        assert_one_sentence(exc)
        assert not target.exists()
    else:
        raise AssertionError(f"a {how} at {at} was not noticed")
    assert path.read_bytes() == bad


HEADER_FIELDS = ("format", "version", "vault_id", "created_at", "head_seq", "keys", "db_size", "db_sha256")


@fuzz(80)
@given(changes=st.dictionaries(st.sampled_from(HEADER_FIELDS), JSON_VALUES, min_size=1, max_size=3),
       nest=st.integers(0, 3000))
def test_hostile_backup_headers_are_refused_in_one_sentence(
        made_backup: tuple[Path, bytes], tmp_path: Path, changes: dict[str, Any], nest: int) -> None:
    _directory, good = made_backup
    header_end = good.index(b"\n", len(backup.MAGIC)) + 1
    header = json.loads(good[len(backup.MAGIC):header_end])
    text = json.dumps({**header, **changes})
    if nest > 2000:  # deep nesting, which a recursive parser may not survive
        text = text[:-1] + ', "x": ' + "[" * nest + "]" * nest + "}"
    path = tmp_path / "hostile"
    path.write_bytes(backup.MAGIC + text.encode() + b"\n" + good[header_end:])
    target = tmp_path / f"restored-{uuid.uuid4().hex}"  # tmp_path is shared by the examples
    for attempt in (lambda: backup.read_info(path), lambda: backup.restore(Vault(target, argon2=CHEAP), path,
                                                                           ADMIN, ADMIN_PW)):
        try:
            attempt()
        except VaultError as exc:
            assert_one_sentence(exc)
    if target.exists():  # only a change that does not matter: the copy must be whole
        with Vault(target, argon2=CHEAP).unlock(ADMIN, ADMIN_PW) as admin:
            assert admin.audit_verify().ok
        assert set(changes) <= {"created_at"}, changes


COMMANDS = [["record", "list"], ["record", "show"], ["record", "new", "--from-json"], ["case", "open"],
            ["case", "close"], ["audit", "export"], ["audit", "verify", "--checkpoint"], ["user", "add"],
            ["user", "reset"], ["backup"], ["restore"], ["rekey"], ["passwd"], ["guidance", "check"],
            ["record", "share"], ["case", "decide"], ["user", "disable"], ["record", "disclose"]]
TOKENS = st.sampled_from(["--user", ADMIN, "--password-stdin", "--format", "csv", "--role", "staff", "--to",
                          "--to-file", "--basis", "--outcome-file", "--since", "--out", "IV-2026-0001", "-",
                          "--limit", "--reason", "x" * 300,
                          "\x00", "é", "--", "-h", "../nowhere/x", "CASE-2026-0001", "0", "-1"]) | st.text(max_size=12)
LOGGED_BY_AN_UNLOCK = {"cli-vault/vault.db", "cli-vault/vault.db-wal", "cli-vault/vault.db-shm",
                       "cli-vault/vault.keys.lock"}


@fuzz(120)
@given(head=st.sampled_from(COMMANDS), tail=st.lists(TOKENS, max_size=6), stdin=st.sampled_from(["", ADMIN_PW + "\n"]))
def test_generated_command_lines_answer_in_one_line_and_change_nothing_when_refused(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: list[str], tail: list[str],
        stdin: str) -> None:
    monkeypatch.chdir(tmp_path)  # a generated --out lands here, never in the checkout
    if not (tmp_path / "cli-vault").exists():
        assert cli("init", "--admin", ADMIN, "--password-stdin", stdin=ADMIN_PW + "\n").code == 0
    before = snapshot(tmp_path)
    result: CliResult = cli(*head, *tail, stdin=stdin)
    assert "Traceback" not in result.err + result.out
    assert "internal error" not in result.err, result.err  # the CLI's last resort: a defect if reached
    if result.code == 0:
        return
    lines = [line for line in result.err.splitlines() if line.strip()]
    # One line: "incident-vault: <sentence>", or for a usage error "incident-vault <command>: ...".
    assert len(lines) == 1 and lines[0].startswith("incident-vault"), result.err
    after = snapshot(tmp_path)
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    # A refusal after unlocking has logged the unlock and the lock; nothing else may change.
    assert changed <= LOGGED_BY_AN_UNLOCK, (changed, result.err)
