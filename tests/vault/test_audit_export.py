"""The export's own CSV and JSON Lines writers produce what the standard readers read back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import Built
from vault import audit, audit_log
from vault.errors import InvalidInput

AWKWARD_NAME = 'a "quoted", comma\r\nline é ✓ \u2028'


def _append_awkward(built: Built) -> None:
    """Events of the vault's own actions whose columns need escaping: an object with quotes and
    a line break, a contact's name (the one free text an event holds) with every kind of
    awkward character — canonical JSON escapes them, so the event is well formed."""
    with built.unlock() as admin, admin.write() as conn:
        admin.append(conn, [
            audit.Event("record.viewed", record_id=7, object='say "hi", then\nleave',
                        properties={"reference": "IV-2026-0007"}),
            audit.Event("contact.saved", object="3", properties={"contact_id": 3, "name": AWKWARD_NAME}),
            audit.Event("lock", object=None, properties={}),
        ])


def test_csv_export_round_trips_through_the_csv_module(built: Built) -> None:
    _append_awkward(built)
    with built.unlock() as admin:
        out = io.StringIO()
        count, checkpoint = admin.audit_export(out, "csv")
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(audit_log.EXPORT_COLUMNS)
    body, trailer = rows[1:-1], rows[-1]
    assert len(body) == count and trailer[0] == "checkpoint" and trailer[9] == checkpoint.head.hex()
    awkward = next(r for r in body if r[4] == "record.viewed")
    assert awkward[6] == 'say "hi", then\nleave' and awkward[5] == "7"
    assert json.loads(awkward[7]) == {"reference": "IV-2026-0007"}
    named = next(r for r in body if r[4] == "contact.saved")
    assert json.loads(named[7]) == {"contact_id": 3, "name": AWKWARD_NAME}
    assert "\u2028" not in named[7] and "\n" not in named[7]  # escaped, as canonical JSON has it
    plain = next(r for r in body if r[4] == "lock")
    assert plain[5] == "" and plain[6] == "" and plain[7] == "{}"
    assert all(r[-1] == "" for r in body)  # none malformed
    # Written by the standard writer, the same rows give the same text.
    again = io.StringIO()
    csv.writer(again, lineterminator="\n").writerows(rows[:-1])
    assert out.getvalue().startswith(again.getvalue())


def test_jsonl_export_is_valid_json_and_matches_verify(built: Built) -> None:
    _append_awkward(built)
    with built.unlock() as admin:
        out = io.StringIO()
        count, checkpoint = admin.audit_export(out, "jsonl")
        assert admin.audit_verify([checkpoint]).ok
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == count + 1 and lines[-1]["checkpoint"]["seq"] == checkpoint.seq
    awkward = next(e for e in lines[:-1] if e["action"] == "record.viewed")
    assert awkward["object"] == 'say "hi", then\nleave'
    assert next(e for e in lines[:-1] if e["action"] == "contact.saved")["properties"]["name"] == AWKWARD_NAME
    assert not any("malformed" in e for e in lines[:-1])
    assert len(out.getvalue().splitlines()) == count + 1  # no line break, Unicode's included, inside a line
    # Each exported event re-hashes to its own hash: the export can be checked on its own.
    prev = audit.genesis_prev(admin.vault_id)
    for e in lines[:-1]:
        props = audit.canonical_json(e["properties"])
        digest = audit.event_hash(prev, e["seq"], e["at"], e["actor_id"], e["action"], e["record_id"],
                                  e["object"], props)
        assert digest.hex() == e["hash"] and e["prev_hash"] == prev.hex()
        prev = digest


def _many(built: Built, count: int) -> None:
    with built.unlock() as admin, admin.write() as conn:
        admin.append(conn, [audit.Event("record.viewed", properties={"reference": f"IV-2026-{i:04d}"}) if i % 3
                            else audit.Event("record.search", properties={"searched": i, "found": 0})
                            for i in range(count)])


def test_export_reports_progress_against_the_filtered_total_and_can_be_cancelled(built: Built) -> None:
    _many(built, 45_000)
    seen: list[tuple[int, int]] = []
    with built.unlock() as admin:
        out = io.StringIO()
        count, _cp = admin.audit_export(out, "csv", action="record.search",
                                        progress=lambda done, total: seen.append((done, total)))
        # A filtered export also holds the user events (here vault.created) and its own audit.exported.
        assert count == 15_002 and seen == [(15_002, 15_002)]  # fewer than one block: the end only
        assert out.getvalue().count(",record.search,") == 15_000 and "record.viewed" not in out.getvalue()
        seen.clear()
        count, _cp = admin.audit_export(io.StringIO(), "jsonl", action="record.viewed",
                                        progress=lambda done, total: seen.append((done, total)))
        assert count == 30_002 and seen == [(20_000, 30_002), (30_002, 30_002)]
        asked: list[int] = []

        def cancel_after_first_block() -> bool:
            asked.append(1)
            return True

        with pytest.raises(InvalidInput, match="cancelled"):
            admin.audit_export(io.StringIO(), "jsonl", cancelled=cancel_after_first_block)
        assert asked == [1]
        with pytest.raises(InvalidInput, match="cancelled"):  # fewer than one block: asked at the end
            admin.audit_export(io.StringIO(), "jsonl", action="record.search", cancelled=lambda: True)
        with pytest.raises(InvalidInput, match="No user named"):
            admin.audit_export(io.StringIO(), "jsonl", actor="nobody")
        with pytest.raises(InvalidInput, match="at most 1,000 characters"):  # what the export event can hold
            admin.audit_export(io.StringIO(), "jsonl", action="x" * 1001)


def test_a_checkpoint_file_is_read_from_a_checkpoint_or_an_export(built: Built, tmp_path: Path) -> None:
    with built.unlock() as admin:
        kept = admin.audit_checkpoint()
        export = io.StringIO()
        _count, final = admin.audit_export(export, "jsonl")
    (tmp_path / "cp.json").write_text(kept.to_json() + "\n")
    (tmp_path / "export.jsonl").write_text(export.getvalue())
    assert audit.read_checkpoint(tmp_path / "cp.json") == kept
    assert audit.read_checkpoint(tmp_path / "export.jsonl") == final
    for name, data in (("empty", b""), ("binary", b"\xff\xfe\x00"), ("json", b'{"seq": 1}')):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InvalidInput):
            audit.read_checkpoint(tmp_path / name)
    with pytest.raises(InvalidInput, match="cannot be read"):
        audit.read_checkpoint(tmp_path / "missing")
