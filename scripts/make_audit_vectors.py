"""Build the audit-export test vectors of docs/audit-format.md §13, or a fresh vault holding every
kind of event for the verifiers to agree on.

    .venv/bin/python scripts/make_audit_vectors.py tests/vectors/audit   # rewrite the vectors

The vault is built through the vault's own operations, as people would use it: every action of
the registry (``vault.facts.SPECS``) appears at least once, by a user entitled to it. One action no
command writes without a damaged event to resolve — ``facts.resolved``, an admin's word on a bad
event — is appended through the session, signed and chained like any other. The tampered copies
are made from the honest export the way an attacker would: by editing the file, re-chaining where
that helps them, and re-signing with a real staff member's own key (the insider). ``verdicts.json``
says what a verifier must answer for each.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault import audit, backup, crypto, rekey, retention
from vault.demo import DEMO_RECORDS
from vault.session import Session, Vault

CHEAP = crypto.Argon2Params(time_cost=2, memory_kib=19 * 1024, parallelism=1)
DAY = 86_400.0
CHECKPOINT_TAG = b"IVCHECKPOINT2"
PEOPLE = (("sam", ("staff",)), ("lee", ("line_manager", "staff")), ("sofia", ("safeguarding_officer",)),
          ("dev", ("deputy_safeguarding_officer",)), ("aud", ("auditor",)), ("gone", ("staff",)))
# A contact's name and a record's object hold the only free text an event carries: make them awkward.
AWKWARD = 'Refuge "North", é ✓ \u2028 😀 \\ /'


class Clock:
    """Seconds that advance a little at every reading, so that events have distinct times."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Office:
    vault: Vault
    code: str
    clock: Clock
    passwords: dict[str, str] = field(default_factory=dict)

    def unlock(self, name: str) -> Session:
        return self.vault.unlock(name, self.passwords[name])


def build_every_kind(directory: Path) -> Office:
    """A vault in ``directory`` whose log holds every action the vault knows. Returns it with the
    passwords (the vault ends restored from a backup into ``directory / "restored"``)."""
    clock = Clock()
    vault, code = Vault.init(directory / "original", "alice", "alice's long password", argon2=CHEAP, clock=clock)
    office = Office(vault, code, clock, {"alice": "alice's long password"})
    with office.unlock("alice") as alice:
        one_time = {name: alice.add_user(name, roles) for name, roles in PEOPLE}
        alice.save_contact(None, name=AWKWARD, phone="0800 000 0000", notes="Invented for a test.")
    for name, _roles in PEOPLE:
        final = f"{name}'s long password"
        with vault.unlock(name, one_time[name]) as session:
            session.change_password(one_time[name], final)
        office.passwords[name] = final
    try:  # a wrong password: written as unlock.failed at sam's next unlock
        vault.unlock("sam", "not sam's password")
    except Exception:  # noqa: BLE001 - the refusal is the point
        pass
    clock.advance(60)
    with office.unlock("sam") as sam:
        first = sam.create_record(DEMO_RECORDS[0])
        draft = sam.save_draft(None, dict(DEMO_RECORDS[1]), autosave=True)
        second = sam.submit_draft(draft, dict(DEMO_RECORDS[1]))
        sam.view_record(first)
        list(sam.search_records("stepdad"))
        sam.add_addendum(first, "Later the same day: they asked to speak to the officer.")
        sam.share_record(first, "lee", "line_manager_advice")
        sam.refer_record(first)
        sam.refer_record(second)
        sam.revoke_record(first, "lee")
        sam.disclose_record(first, to="Children's social care", channel="phone", basis="protect_someone",
                            summary="Told them a child may be at risk at home.", consent="given")
    with office.unlock("sofia") as sofia:
        case = sofia.open_case([first], assign_to="sofia")
        sofia.link_case(case, [second])
        sofia.assign_case(case, "dev")
    with office.unlock("dev") as dev:
        dev.show_case(case)
        dev.decide_case(case, "Referred to children's social care.", kind="external_referral", to="Social care")
        dev.close_case(case, "Support plan in place.", password=office.passwords["dev"])
        retention.set_retention_rule(dev, "other", years_after_closure=7, child_until_age=25)
    with office.unlock("alice") as alice:
        alice.disable_user("gone")
        alice.reset_user("lee", code)  # writes recovery.used and user.access_reset
        alice.rotate_user("sam", code)
        office.passwords["lee"] = office.passwords["sam"] = ""  # one-time passwords, unused below
        with alice.write() as conn:
            alice.append(conn, [audit.Event("facts.resolved", properties={
                "seq": 3, "reason": "Checked by hand with the trustees: nothing wrong."})])
    with office.unlock("aud") as aud:
        aud.check()
        aud.audit_export(io.StringIO(), "csv", action="record.viewed")
    clock.advance(8 * 366 * DAY)
    with office.unlock("sofia") as sofia:
        sofia.destroy_case(case, password=office.passwords["sofia"])
    with office.unlock("alice") as alice:
        alice.backup(directory / "vault.backup")
    restored = Vault(directory / "restored", argon2=CHEAP, clock=clock)
    backup.restore(restored, directory / "vault.backup", "alice", office.passwords["alice"])
    office.vault = restored
    rekey.rekey(restored, "alice", office.passwords["alice"])
    return office


def export(office: Office, fmt: str, who: str = "aud", **chosen: Any) -> str:
    out = io.StringIO()
    with office.unlock(who) as session:
        session.audit_export(out, fmt, **chosen)
    return out.getvalue()


def checkpoint(office: Office, who: str = "aud") -> str:
    with office.unlock(who) as session:
        return session.audit_checkpoint().to_json()


# --- tampering, as an attacker holding the file (and perhaps a staff member's key) would -----

def _lines(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = [json.loads(line) for line in text.splitlines()]
    return rows[:-1], rows[-1]


def _text(events: list[dict[str, Any]], trailer: dict[str, Any]) -> str:
    return "".join(json.dumps(e, ensure_ascii=True, separators=(",", ":")) + "\n" for e in [*events, trailer])


def _rehash(e: dict[str, Any], prev: bytes) -> bytes:
    props = audit.canonical_json(e["properties"])
    digest = audit.event_hash(prev, e["seq"], e["at"], e["actor_id"], e["action"], e["record_id"], e["object"],
                              props)
    e["prev_hash"], e["hash"] = prev.hex(), digest.hex()
    return digest


def _signed_checkpoint(body: dict[str, Any], sign: Callable[[bytes], bytes]) -> dict[str, Any]:
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    signature = sign(CHECKPOINT_TAG + audit.canonical_json(unsigned).encode("ascii"))
    return {**unsigned, "signature": signature.hex()}


def _digest(events: list[dict[str, Any]]) -> str:
    return hashlib.sha256(b"".join(bytes.fromhex(e["hash"]) for e in events)).hexdigest()


def pick(events: list[dict[str, Any]], action: str) -> int:
    """The index of the first event of ``action``."""
    return next(i for i, e in enumerate(events) if e["action"] == action)


def tampered(insider: Session, honest: str) -> dict[str, tuple[str, int | None, str]]:
    """name -> (file text, first bad seq or None, what was done); ``insider``, an unlocked member of
    staff (no auditor, no admin), signs what an insider would re-sign."""
    events, trailer = _lines(honest)
    out: dict[str, tuple[str, int | None, str]] = {}

    def variant(name: str, bad: int | None, what: str, change: Callable[[list[dict[str, Any]]], Any]) -> None:
        copy = json.loads(json.dumps(events))
        result = change(copy)
        out[name] = (result if isinstance(result, str) else _text(copy, trailer), bad, what)

    shared = pick(events, "record.shared")
    seq = events[shared]["seq"]
    variant("flipped-property", seq, "a record.shared event's reason changed",
            lambda ev: ev[shared]["properties"].update(reason="legal_duty"))
    variant("deleted-event", seq, "a record.shared event removed", lambda ev: ev.pop(shared))
    variant("duplicated-event", seq + 1, "a record.shared event repeated", lambda ev: ev.insert(shared, ev[shared]))
    variant("swapped-events", seq, "a record.shared event and the next swapped",
            lambda ev: ev.__setitem__(slice(shared, shared + 2), [ev[shared + 1], ev[shared]]))
    variant("changed-actor", seq, "a record.shared event's actor_id set to another user's",
            lambda ev: ev[shared].update(actor_id=ev[shared]["actor_id"] + 1))
    variant("renamed-actor", seq, "a record.shared event's actor name (not hashed) changed",
            lambda ev: ev[shared].update(actor="lee"))
    insider_sign, insider_id, insider_name = insider.sign, insider.user_id, insider.username

    def replaced_signature(ev: list[dict[str, Any]]) -> None:
        ev[shared]["signature"] = insider_sign(bytes.fromhex(ev[shared]["hash"])).hex()
    variant("replaced-signature", seq, "a record.shared event's signature replaced by a colleague's of the same hash",
            replaced_signature)

    added = pick(events, "user.added")

    def edited_key(ev: list[dict[str, Any]]) -> None:
        ev[added]["properties"]["sign_public"] = "11" * 32
        prev = bytes.fromhex(ev[added]["prev_hash"])
        for e in ev[added:]:  # re-chained from there on: only the signatures can tell
            prev = _rehash(e, prev)
    variant("edited-recorded-key", events[added]["seq"], "a user.added event's public key replaced, the chain "
            "re-computed after it", edited_key)

    cut = len(events) // 2
    kept = events[:cut]
    body = {**trailer["checkpoint"], "seq": kept[-1]["seq"], "head": kept[-1]["hash"]}
    body["export"] = {**body["export"], "events": len(kept), "digest": _digest(kept)}
    out["cut-tail-unsigned"] = (_text(kept, {"checkpoint": {k: v for k, v in body.items() if k != "signature"}}),
                                None, "cut after half the events, the checkpoint rewritten to match and unsigned")
    out["cut-tail-old-signature"] = (_text(kept, {"checkpoint": body}), None,
                                     "cut after half the events, the checkpoint rewritten, its old signature kept")
    resigned = _signed_checkpoint({**body, "signer_id": insider_id, "signer": insider_name}, insider_sign)
    out["cut-tail-staff-signed"] = (_text(kept, {"checkpoint": resigned}), None,
                                    "cut after half the events, the checkpoint rewritten and signed by a member "
                                    "of staff (no auditor)")

    def forged(ev: list[dict[str, Any]]) -> None:
        last = ev[-1]
        fake = {"seq": last["seq"] + 1, "at": last["at"], "actor": insider_name, "actor_id": insider_id,
                "action": "lock", "record_id": None, "object": None, "properties": {}}
        _rehash(fake, bytes.fromhex(last["hash"]))
        fake["signature"] = insider_sign(bytes.fromhex(fake["hash"])).hex()
        ev.append(fake)
    variant("forged-appended-event", None, "an event appended after the head, chained and signed by a member "
            "of staff with their own key", forged)
    out["no-checkpoint"] = (_text(events, trailer).rsplit("\n", 2)[0] + "\n", None, "the checkpoint line cut off")
    return out


def csv_flip(honest_csv: str) -> tuple[str, int]:
    rows = list(csv.reader(io.StringIO(honest_csv)))
    i = next(i for i, r in enumerate(rows) if r[4] == "record.shared")
    rows[i][7] = rows[i][7].replace("line_manager_advice", "legal_duty")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue(), int(rows[i][0])


def _line(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=True, separators=(",", ":")) + "\n"


def insert_by_hand(office: Office, action: str, properties: str) -> int:
    """Put an event into the database as an insider with the database key would: chained and
    signed with their own key, its properties text as given. Returns its seq."""
    from sqlalchemy import insert

    from vault.models import AuditEvent, table

    with office.unlock("sofia") as insider, insider.write() as conn:
        seq, prev = audit.head(conn, insider.vault_id)
        at = audit.now_iso(office.clock)
        digest = audit.event_hash(prev, seq + 1, at, insider.user_id, action, None, None, properties)
        conn.execute(insert(table(AuditEvent)).values(
            seq=seq + 1, at=at, actor_id=insider.user_id, action=action, record_id=None, object=None,
            properties=properties, prev_hash=prev, hash=digest, signature=insider.sign(digest)))
    return seq + 1


def event_vectors(honest: str) -> list[dict[str, Any]]:
    """Each event's pre-image (hex), hash and signature, and the key that verifies it."""
    events, _trailer = _lines(honest)
    keys: dict[int, str] = {}
    out = []
    for e in events:
        props = audit.canonical_json(e["properties"])
        pre = audit.encode(bytes.fromhex(e["prev_hash"]), e["seq"], e["at"], e["actor_id"], e["action"],
                           e["record_id"], e["object"], props)
        signer = e["properties"]["sign_public"] if e["action"] == "vault.created" else keys[e["actor_id"]]
        out.append({"seq": e["seq"], "action": e["action"], "properties": props, "pre_image": pre.hex(),
                    "hash": e["hash"], "signature": e["signature"], "sign_public": signer})
        if e["action"] in ("vault.created", "user.added", "user.rotated"):
            keys[e["properties"]["user_id"]] = e["properties"]["sign_public"]
    return out


def write_vectors(target: Path, scratch: Path) -> None:
    office = build_every_kind(scratch)
    early = export(office, "jsonl")  # an export made before a later checkpoint is kept
    early_checkpoint = json.loads(early.splitlines()[-1])["checkpoint"]
    honest = export(office, "jsonl")
    honest_csv = export(office, "csv")
    with office.unlock("sofia"):
        pass  # two more events: the kept checkpoint below is later than ``honest``
    later = checkpoint(office)
    filtered = export(office, "jsonl", action="record.viewed")
    target.mkdir(parents=True, exist_ok=True)
    files = {"export.jsonl": honest, "export.csv": honest_csv, "filtered.jsonl": filtered, "early.jsonl": early,
             "kept-early.json": audit.canonical_json(early_checkpoint) + "\n", "kept-later.json": later + "\n"}
    first = json.loads(honest.splitlines()[0])
    anchor = first["hash"]
    verdicts: dict[str, dict[str, Any]] = {
        "honest-jsonl": {"file": "export.jsonl", "ok": True, "first_bad_seq": None, "anchor": anchor,
                         "checkpoints": ["kept-early.json"], "what": "an honest export, with what the auditor kept"},
        "honest-csv": {"file": "export.csv", "ok": True, "first_bad_seq": None, "anchor": anchor,
                       "what": "the same log as CSV"},
        "honest-filtered": {"file": "filtered.jsonl", "ok": True, "first_bad_seq": None, "anchor": anchor,
                            "what": "an honest export of the record.viewed events only"},
        "wrong-anchor": {"file": "export.jsonl", "ok": False, "first_bad_seq": 1, "anchor": "00" * 32,
                         "what": "an honest export against another vault's first-event hash"},
        "rolled-back": {"file": "early.jsonl", "ok": False, "first_bad_seq": None, "checkpoints": ["kept-later.json"],
                        "what": "an older export against a checkpoint kept later (the log cut back)"},
    }
    flipped_csv, flipped_seq = csv_flip(honest_csv)
    files["tampered/flipped-property.csv"] = flipped_csv
    verdicts["flipped-property-csv"] = {"file": "tampered/flipped-property.csv", "ok": False,
                                        "first_bad_seq": flipped_seq, "what": "a record.shared reason changed, in CSV"}
    f_events, f_trailer = _lines(filtered)
    dropped = next(i for i, e in enumerate(f_events) if e["action"] == "record.viewed")
    files["tampered/filtered-dropped.jsonl"] = _text(f_events[:dropped] + f_events[dropped + 1:], f_trailer)
    verdicts["filtered-dropped"] = {"file": "tampered/filtered-dropped.jsonl", "ok": False, "first_bad_seq": None,
                                    "what": "a matching event removed from a filtered export"}
    with office.unlock("sofia") as insider:  # the safeguarding officer: no auditor, no admin
        variants = tampered(insider, honest)
    for name, (text, bad, what) in variants.items():
        files[f"tampered/{name}.jsonl"] = text
        verdicts[name] = {"file": f"tampered/{name}.jsonl", "ok": False, "first_bad_seq": bad, "what": what}
    early_seq = early_checkpoint["seq"]
    files["kept-early-altered.json"] = audit.canonical_json({**early_checkpoint, "head": "00" * 32}) + "\n"
    verdicts["kept-checkpoint-differs"] = {"file": "export.jsonl", "ok": False, "first_bad_seq": early_seq,
                                           "checkpoints": ["kept-early-altered.json"],
                                           "what": "a kept checkpoint whose head differs from the event's hash"}
    lines = honest.splitlines(keepends=True)
    files["tampered/crlf.jsonl"] = "".join(line.replace("\n", "\r\n") for line in lines)
    files["tampered/no-final-newline.jsonl"] = honest.rstrip("\n")
    third = json.loads(lines[2])
    files["tampered/uppercase-hex.jsonl"] = "".join([*lines[:2], _line({**third, "hash": third["hash"].upper()}),
                                                     *lines[3:]])
    named = next(i for i, line in enumerate(lines) if "\\u00e9" in line)  # the contact's awkward name
    files["tampered/raw-utf8.jsonl"] = "".join([*lines[:named], lines[named].replace("\\u00e9", "é", 1),
                                               *lines[named + 1:]])
    for name, change in (("time-not-a-time", {"at": "not a time"}), ("record-id-zero", {"record_id": 0}),
                         ("empty-object", {"object": ""})):
        files[f"tampered/{name}.jsonl"] = "".join([*lines[:2], _line({**third, **change}), *lines[3:]])
    for name, what in (("time-not-a-time", "an event's time not in the format's one form"),
                       ("record-id-zero", "an event's record_id 0 (ids start at 1)"),
                       ("empty-object", "an event's object the empty text (null is written for none)"),
                       ("crlf", "every line ending in CR LF"), ("no-final-newline", "the last line's LF cut"),
                       ("uppercase-hex", "an event's hash in uppercase hex"),
                       ("raw-utf8", "a contact's name holding a raw UTF-8 é where the export escapes it")):
        verdicts[name] = {"file": f"tampered/{name}.jsonl", "ok": False, "first_bad_seq": None, "what": what}
    # Last, as they change the log: an event with an object no vault command writes (non-ASCII, a
    # comma and a quote: CSV carries it as UTF-8), which verifies; then a row put into the database
    # by hand, chained and signed but with properties not in canonical form, which the export marks.
    with office.unlock("sofia") as insider, insider.write() as conn:
        insider.append(conn, [audit.Event("record.viewed", record_id=1, object='Zoë\'s file, "copy"',
                                          properties={"reference": "IV-2026-0001"})])
    files["unusual-object.jsonl"], files["unusual-object.csv"] = export(office, "jsonl"), export(office, "csv")
    for fmt in ("jsonl", "csv"):
        verdicts[f"unusual-object-{fmt}"] = {"file": f"unusual-object.{fmt}", "ok": True, "first_bad_seq": None,
                                            "what": "an event whose object holds non-ASCII text, a comma and a quote"}
    bad_seq = insert_by_hand(office, "record.viewed", '{"reference": "IV-2026-0001"}')
    files["malformed.jsonl"], files["malformed.csv"] = export(office, "jsonl"), export(office, "csv")
    for fmt in ("jsonl", "csv"):
        verdicts[f"malformed-{fmt}"] = {"file": f"malformed.{fmt}", "ok": False, "first_bad_seq": bad_seq,
                                       "what": "an event put in by hand with properties not in canonical form, "
                                               "which the export marks malformed"}
    for name, text in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")  # ASCII but for the UTF-8 vectors
    (target / "events.json").write_text(json.dumps(event_vectors(honest), indent=1) + "\n", encoding="ascii")
    (target / "verdicts.json").write_text(json.dumps(verdicts, indent=1, sort_keys=True) + "\n", encoding="ascii")


def main(argv: list[str]) -> int:
    import tempfile

    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        write_vectors(Path(argv[0]), Path(scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
