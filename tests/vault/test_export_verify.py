"""An auditor verifies an export without the vault (issue 15): an honest export verifies, as JSON Lines
and as CSV, whole and filtered; each tampering fails, naming the first bad event where it concerns one."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, FakeClock
from vault import audit, crypto, export_verify
from vault.errors import InvalidInput
from vault.session import Vault

AWKWARD = 'a "quoted", comma\r\nline é ✓ \u2028'


@dataclasses.dataclass
class Office:
    built: Built
    dir: Path
    jsonl: str  # a whole export, made by the auditor
    csv: str
    filtered: str  # record.viewed only, JSON Lines
    staff_key: bytes  # sam's signing key: the insider's
    staff_id: int


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    d = tmp_path_factory.mktemp("office")
    vault, code = Vault.init(d / "vault", ADMIN, ADMIN_PW, argon2=CHEAP, clock=FakeClock())
    built = Built(vault, code, {ADMIN: ADMIN_PW})
    built.add("bob", "auditor")
    built.add("sam", "staff")
    with built.unlock() as admin, admin.write() as conn:
        admin.append(conn, [
            audit.Event("record.viewed", record_id=7, object='say "hi", then\nleave é',
                        properties={"reference": "IV-2026-0007"}),
            audit.Event("contact.saved", object="3", properties={"contact_id": 3, "name": AWKWARD}),
            audit.Event("record.viewed", record_id=8, properties={"reference": "IV-2026-0008"}),
            audit.Event("lock", object=None, properties={}),
        ])
    exports = {}
    with built.unlock("bob") as bob:
        for name, fmt, chosen in (("jsonl", "jsonl", {}), ("csv", "csv", {}),
                                  ("filtered", "jsonl", {"action": "record.viewed"})):
            out = io.StringIO()
            bob.audit_export(out, fmt, **chosen)
            exports[name] = out.getvalue()
    with built.unlock("sam") as sam:
        staff_key, staff_id = sam.secrets.sign_private, sam.user_id
    return Office(built, d, exports["jsonl"], exports["csv"], exports["filtered"], staff_key, staff_id)


def _lines(text_: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text_.splitlines()]


def _text(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n" for line in lines)


def _check(tmp_path: Path, content: str, *, name: str = "export.jsonl", **kwargs: Any) -> export_verify.Result:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", newline="")
    return export_verify.verify_file(path, **kwargs)


def _tampered(office: Office, tmp_path: Path, change: Callable[[list[dict[str, Any]]], None],
              source: str | None = None) -> export_verify.Result:
    lines = _lines(source or office.jsonl)
    change(lines)
    result = _check(tmp_path, _text(lines))
    assert not result.ok and result.sentence().startswith("The export does not verify: ")
    return result


def _resign(cp: dict[str, Any], key: bytes) -> dict[str, Any]:
    body = {k: v for k, v in cp.items() if k != "signature"}
    signature = crypto.Signer(key).sign(audit.CHECKPOINT_TAG + audit.canonical_json(body).encode("ascii"))
    return {**body, "signature": signature.hex()}


# --- honest exports ------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["jsonl", "csv", "filtered"])
def test_an_honest_export_verifies(office: Office, tmp_path: Path, which: str) -> None:
    content = getattr(office, which)
    result = _check(tmp_path, content, name=f"export.{'csv' if which == 'csv' else 'jsonl'}")
    assert result.ok, result.sentence()
    assert result.first_bad_seq is None and result.filtered == (which == "filtered")
    sentence = result.sentence()
    assert "signed by bob (auditor)" in sentence and "not anchored" in sentence
    if which == "filtered":
        assert "cannot show the links across the events left out" in sentence
        actions = [e["action"] for e in _lines(content)[:-1]]
        assert set(actions) == {"vault.created", "user.added", "record.viewed", "audit.exported"}
    else:
        assert result.events == result.last_seq and f"({result.first_seq:,}–{result.last_seq:,})" in sentence


def test_an_anchor_and_kept_checkpoints_are_checked(office: Office, tmp_path: Path) -> None:
    first = _lines(office.jsonl)[0]["hash"]
    early = tmp_path / "early.json"
    with office.built.unlock("bob") as bob:
        early.write_text(bob.audit_checkpoint().to_json() + "\n")
        out = io.StringIO()
        bob.audit_export(out, "jsonl")
    later = out.getvalue()
    result = _check(tmp_path, later, checkpoints=[early], anchor=first)
    assert result.ok and "anchored to the first event you kept" in result.sentence()
    # A kept checkpoint the export does not reach: the log was cut back, or this is an older copy.
    result = _check(tmp_path, office.jsonl, checkpoints=[early])
    assert not result.ok and result.first_bad_seq is None and "truncated or rolled back" in result.reason
    wrong = _check(tmp_path, later, anchor="00" * 32)
    assert not wrong.ok and wrong.first_bad_seq == 1
    # An earlier export is a kept checkpoint too; a filtered one cannot vouch for an event it lacks.
    (tmp_path / "whole.jsonl").write_text(office.jsonl)
    assert _check(tmp_path, later, checkpoints=[tmp_path / "whole.jsonl"]).ok
    gap = _check(tmp_path, office.filtered, checkpoints=[_kept_inside_a_gap(office, tmp_path)])
    assert not gap.ok and "cannot be checked against a filtered export" in gap.reason


def _kept_inside_a_gap(office: Office, tmp_path: Path) -> Path:
    """A checkpoint at an event the filtered export leaves out, signed by the auditor."""
    whole = _lines(office.jsonl)
    kept_seqs = {e["seq"] for e in _lines(office.filtered)[:-1]}
    event = next(e for e in whole[:-1] if e["seq"] not in kept_seqs)
    with office.built.unlock("bob") as bob:
        cp = dataclasses.replace(bob.audit_checkpoint(), seq=event["seq"], head=bytes.fromhex(event["hash"]))
        signed = cp.sign(crypto.Signer(bob.secrets.sign_private))
    path = tmp_path / "gap.json"
    path.write_text(signed.to_json())
    return path


def test_a_kept_checkpoint_signed_by_staff_is_refused(office: Office, tmp_path: Path) -> None:
    lines = _lines(office.jsonl)
    forged = _resign({**lines[-1]["checkpoint"], "signer_id": office.staff_id, "signer": "sam"}, office.staff_key)
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    result = _check(tmp_path, office.jsonl, checkpoints=[tmp_path / "forged.json"])
    assert not result.ok and result.first_bad_seq is None and "auditor or admin" in result.reason


# --- tampering ------------------------------------------------------------------------------


def _seq_of(lines: list[dict[str, Any]], action: str) -> int:
    return next(i for i, e in enumerate(lines) if e.get("action") == action)


def test_each_tampering_names_the_first_bad_event(office: Office, tmp_path: Path) -> None:
    def flip_property(lines: list[dict[str, Any]]) -> None:
        lines[_seq_of(lines, "contact.saved")]["properties"]["name"] = "someone else"

    def delete5(lines: list[dict[str, Any]]) -> None:
        del lines[4]

    def duplicate5(lines: list[dict[str, Any]]) -> None:
        lines.insert(5, dict(lines[4]))

    def swap56(lines: list[dict[str, Any]]) -> None:
        lines[4], lines[5] = lines[5], lines[4]

    def replace_signature(lines: list[dict[str, Any]]) -> None:
        lines[6]["signature"] = lines[7]["signature"]

    def change_actor_id(lines: list[dict[str, Any]]) -> None:
        lines[7]["actor_id"] = 2

    def change_actor_name(lines: list[dict[str, Any]]) -> None:
        lines[7]["actor"] = "bob"

    def edit_recorded_key(lines: list[dict[str, Any]]) -> None:
        added = lines[_seq_of(lines, "user.added")]
        added["properties"]["sign_public"] = crypto.Signer(crypto.Signer.generate_raw()).public_raw().hex()

    contact = _seq_of(_lines(office.jsonl), "contact.saved") + 1
    added = _seq_of(_lines(office.jsonl), "user.added") + 1
    for change, seq in ((flip_property, contact), (delete5, 5), (duplicate5, 6), (swap56, 5),
                        (replace_signature, 7), (change_actor_id, 8), (change_actor_name, 8),
                        (edit_recorded_key, added)):
        result = _tampered(office, tmp_path, change)
        assert result.first_bad_seq == seq, (change.__name__, result.reason)


def test_a_cut_tail_with_a_rewritten_checkpoint_fails(office: Office, tmp_path: Path) -> None:
    def cut(lines: list[dict[str, Any]], sign: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        trailer = lines.pop()["checkpoint"]
        del lines[10:]
        body = {**trailer, "seq": lines[-1]["seq"], "head": lines[-1]["hash"]}
        lines.append({"checkpoint": sign(body)})

    unsigned = _tampered(office, tmp_path, lambda ls: cut(ls, lambda b: {k: v for k, v in b.items()
                                                                         if k != "signature"}))
    old_signature = _tampered(office, tmp_path, lambda ls: cut(ls, lambda b: b))
    by_staff = _tampered(office, tmp_path, lambda ls: cut(ls, lambda b: _resign(
        {**b, "signer_id": office.staff_id, "signer": "sam"}, office.staff_key)))
    for result in (unsigned, old_signature, by_staff):
        assert result.first_bad_seq is None, result.reason
    assert "auditor or admin" in by_staff.reason


def test_an_insiders_forged_event_before_the_checkpoint_fails(office: Office, tmp_path: Path) -> None:
    """Sam, a real member of staff, signs a well-formed event with their own key and slips it in
    before the checkpoint, then re-signs the checkpoint: the signer is not an auditor."""
    def forge(lines: list[dict[str, Any]]) -> None:
        trailer = lines.pop()["checkpoint"]
        last = lines[-1]
        props = {"reference": "IV-2026-0099"}
        seq, at = last["seq"] + 1, last["at"]
        digest = audit.event_hash(bytes.fromhex(last["hash"]), seq, at, office.staff_id, "record.viewed", 99, None,
                                  audit.canonical_json(props))
        signature = crypto.Signer(office.staff_key).sign(digest)
        lines.append({"seq": seq, "at": at, "actor": "sam", "actor_id": office.staff_id, "action": "record.viewed",
                      "record_id": 99, "object": None, "properties": props, "prev_hash": last["hash"],
                      "hash": digest.hex(), "signature": signature.hex()})
        lines.append({"checkpoint": _resign({**trailer, "seq": seq, "head": digest.hex(),
                                             "signer_id": office.staff_id, "signer": "sam"}, office.staff_key)})

    result = _tampered(office, tmp_path, forge)
    assert result.first_bad_seq is None and "auditor or admin" in result.reason

    def forge_keep_trailer(lines: list[dict[str, Any]]) -> None:
        trailer = lines[-1]
        forge(lines)
        lines[-1] = trailer  # the auditor's checkpoint kept: it no longer holds the last event

    assert _tampered(office, tmp_path, forge_keep_trailer).first_bad_seq is None


def test_a_filtered_export_with_an_event_added_or_removed_fails(office: Office, tmp_path: Path) -> None:
    whole = _lines(office.jsonl)

    def add_unmatched(lines: list[dict[str, Any]]) -> None:
        lock = next(e for e in whole if e.get("action") == "lock")
        lines.insert(next(i for i, e in enumerate(lines) if e["seq"] > lock["seq"]), lock)

    def remove_matched(lines: list[dict[str, Any]]) -> None:
        del lines[next(i for i, e in enumerate(lines) if e["action"] == "record.viewed")]

    for change in (add_unmatched, remove_matched):
        result = _tampered(office, tmp_path, change, office.filtered)
        assert result.first_bad_seq is None, result.reason


def test_csv_tampering_is_caught_as_in_json_lines(office: Office, tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(office.csv)))
    viewed = next(r for r in rows if r[4] == "record.viewed")
    viewed[6] = viewed[6].replace("hi", "bye")  # the object with a line break
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    result = _check(tmp_path, out.getvalue(), name="export.csv")
    assert not result.ok and result.first_bad_seq == int(viewed[0])
    swapped = office.csv.replace(",bob,", ",sam,", 1)
    result = _check(tmp_path, swapped, name="export.csv")
    assert not result.ok and result.first_bad_seq is not None and "names its actor" in result.reason


@pytest.mark.parametrize("content", [
    "", "hello\n", '{"a": 1}\n', "seq,at,actor\n1,2,3\n", "\x00\xff garbage", "[1, 2]\n",
])
def test_a_file_that_is_not_an_export_fails_in_one_sentence(tmp_path: Path, content: str) -> None:
    result = _check(tmp_path, content)
    assert not result.ok and result.first_bad_seq is None
    assert result.sentence().count(". ") == 0 and "\n" not in result.sentence()


def test_a_truncated_line_and_bit_flips_fail(office: Office, tmp_path: Path) -> None:
    data = office.jsonl.encode()
    assert not _check(tmp_path, data[: len(data) // 2].decode()).ok
    path = tmp_path / "flipped.jsonl"
    for position in range(0, len(data), max(1, len(data) // 37)):
        flipped = bytearray(data)
        flipped[position] ^= 0x04
        path.write_bytes(bytes(flipped))
        result = export_verify.verify_file(path)
        assert not result.ok, position
    with pytest.raises(InvalidInput, match="cannot be read"):
        export_verify.verify_file(tmp_path / "missing.jsonl")
    with pytest.raises(InvalidInput, match="not a hash"):
        export_verify.verify_file(path, anchor="xyz")


# --- the vault side -------------------------------------------------------------------------


def test_a_rewritten_export_is_refused_as_a_kept_checkpoint_by_audit_verify(office: Office, tmp_path: Path) -> None:
    lines = _lines(office.jsonl)
    trailer = lines[-1]["checkpoint"]
    lines[-1] = {"checkpoint": _resign({**trailer, "signer_id": office.staff_id, "signer": "sam"}, office.staff_key)}
    (tmp_path / "rewritten.jsonl").write_text(_text(lines))
    (tmp_path / "honest.jsonl").write_text(office.jsonl)
    with office.built.unlock("bob") as bob:
        assert bob.audit_verify([audit.read_checkpoint(tmp_path / "honest.jsonl")]).ok
        with pytest.raises(InvalidInput, match="auditor or admin"):
            bob.audit_verify([audit.read_checkpoint(tmp_path / "rewritten.jsonl")])
        bad = dataclasses.replace(audit.read_checkpoint(tmp_path / "honest.jsonl"), at="2001-01-01T00:00:00.000000Z")
        with pytest.raises(InvalidInput, match="signature"):
            bob.audit_verify([bad])
        # The auditor's own unsigned note of what they saw (format version 1) is taken as such.
        note = audit.Checkpoint(bad.vault_id, bad.seq, bad.head, bad.at)
        assert bob.audit_verify([audit.Checkpoint.from_json(note.to_json())]).ok


def test_a_csv_exports_checkpoint_is_read_from_its_last_row(office: Office, tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(office.csv)
    cp = audit.read_checkpoint(tmp_path / "export.csv")
    assert cp.version == 2 and cp.signer == "bob" and cp.export is not None and cp.export["format"] == "csv"
    assert audit.Checkpoint.from_json(cp.to_json()) == cp


def test_a_name_changed_in_the_users_table_does_not_change_an_export(office: Office, tmp_path: Path) -> None:
    """The actor column comes from the signed log, never from the users table a colleague can edit."""
    with office.built.unlock() as admin:
        with admin.engine.begin() as conn:
            conn.execute(text("UPDATE users SET username = 'mallory' WHERE username = 'sam'"))
        try:
            out = io.StringIO()
            admin.audit_export(out, "jsonl")
        finally:
            with admin.engine.begin() as conn:
                conn.execute(text("UPDATE users SET username = 'sam' WHERE username = 'mallory'"))
    assert "mallory" not in out.getvalue()
    assert {e["actor"] for e in _lines(out.getvalue())[:-1]} <= {"alice", "bob", "sam"}
    assert _check(tmp_path, out.getvalue()).ok
