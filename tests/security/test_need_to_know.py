"""Need-to-know against an insider (SPEC §3.2): a user holding the database key, who
reads every table and every byte of the vault's files, finds nothing anyone wrote,
and cannot open a record they were never given with any key they hold. Revoking a
reader re-keys the record so their saved key opens nothing new; ciphertext moved to
another record or item does not authenticate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, FakeClock
from tests.security._util import Template, all_bytes, assert_one_sentence
from vault import audit, crypto, envelopes
from vault.errors import AccessDenied, TamperDetected
from vault.session import Session, Vault, open_vault

WRITERS = (("bob", "staff"), ("dave", "staff"), ("lena", "line_manager"), ("sam", "safeguarding_officer"))
OUTSIDERS = (("erin", "staff"), ("carol", "auditor"))  # and alice, the admin
RECORDS = 50
TEXT_FIELDS = ("own_words", "observations", "concerns", "subject", "questions_asked", "actions", "wishes",
               "location", "present", "consent_reason")


def canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex}"


@contextmanager
def unlocked(v: Built, *names: str) -> Iterator[dict[str, Session]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(v.unlock(name)) for name in names}


def insider(session: Session, sql: str, *params: Any) -> None:
    """SQL run with the database key, outside the vault's code."""
    with session.engine.begin() as conn:
        conn.exec_driver_sql(sql, params if params else ())


def rows(session: Session, sql: str, *params: Any) -> list[Any]:
    with session.engine.connect() as conn:
        return list(conn.exec_driver_sql(sql, params if params else ()).all())


# --- finding canaries ------------------------------------------------------------------

_HEX8 = re.compile(rb"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
_HEX16 = re.compile(rb"(?<![0-9a-f]\x00)(?:[0-9a-f]\x00){32}(?![0-9a-f]\x00)")
_PREFIXES = (b"CANARY", "CANARY".encode("utf-16-le"))


def leaks(blobs: dict[str, bytes], canaries: set[str]) -> list[str]:
    """Where any canary appears, UTF-8 or UTF-16-LE: its common prefix, or its unique tail
    (every canary ends with a 32-hex-digit uuid, found with one regular expression)."""
    tails = {c.rsplit("-", 1)[1] for c in canaries}
    found = []
    for name, data in blobs.items():
        found += [f"{name}: {p!r}" for p in _PREFIXES if p in data]
        found += [f"{name}: tail {m.decode()}" for m in _HEX8.findall(data) if m.decode() in tails]
        found += [f"{name}: UTF-16 tail" for m in _HEX16.findall(data) if m.decode("utf-16-le") in tails]
    return found


def dump_tables(session: Session) -> dict[str, bytes]:
    """``SELECT *`` from every table sqlite_master names (and sqlite_master itself)."""
    out: dict[str, bytes] = {}
    with session.engine.connect() as conn:
        tables = [r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"records", "grants", "addenda", "external_disclosures", "audit_events", "users"} <= set(tables)
        for table in [*tables, "sqlite_master"]:
            parts = []
            for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value))
                    else:
                        parts.append(str(value).encode("utf-8"))
            out[f"table {table}"] = b"\x01".join(parts)
    return out


# --- the populated vault ---------------------------------------------------------------


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Template:
    directory = tmp_path_factory.mktemp("need-to-know") / "vault"
    vault, code = Vault.init(directory, ADMIN, ADMIN_PW, argon2=CHEAP, clock=FakeClock())
    built = Built(vault, code, {ADMIN: ADMIN_PW})
    for name, role in WRITERS + OUTSIDERS:
        built.add(name, role)
    return Template(directory, code, dict(built.passwords))


def copy(template: Template, tmp_path: Path, name: str = "vault") -> Built:
    directory = template.copy_to(tmp_path / name)
    return Built(open_vault(directory, argon2=CHEAP, clock=FakeClock()), template.recovery_code,
                 dict(template.passwords))


@pytest.fixture(scope="module")
def populated(people: Template, tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, set[str]]:
    """50 records by four writers, each text field, addendum and disclosure a unique canary;
    shared, referred and revoked among the writers; never given to erin, carol or alice."""
    v = copy(people, tmp_path_factory.mktemp("populated"))
    canaries: set[str] = set()

    def plant(label: str) -> str:
        canaries.add(value := canary(label))
        return value

    names = [n for n, _r in WRITERS]
    with unlocked(v, *names) as s:
        for i in range(RECORDS):
            author = s[names[i % len(names)]]
            data = {f: plant(f"{f}-{i}") for f in TEXT_FIELDS}
            data["protected"] = i % 3 == 0
            ref = author.create_record(data, draft=i % 10 == 9)
            if i % 10 == 9:
                continue
            author.add_addendum(ref, plant(f"addendum-{i}"))
            author.disclose_record(ref, to=plant(f"to-{i}"), channel="verbal", basis=plant(f"basis-{i}"),
                                   summary=plant(f"summary-{i}"), consent="given")
            other = names[(i + 1) % len(names)]
            if other != author.username:
                author.share_record(ref, other, "consent_given")
            if i % 4 == 0:
                author.refer_record(ref)
            if i % 5 == 0 and other != author.username:
                author.revoke_record(ref, other)
                author.add_addendum(ref, plant(f"after-revoke-{i}"))
            assert s[names[i % len(names)]].view_record(ref).content["own_words"] == data["own_words"]
    return Template(v.directory, people.recovery_code, dict(people.passwords)), canaries


# --- 3. the insider -------------------------------------------------------------------------


def test_an_insider_with_the_database_key_finds_no_written_text(populated: tuple[Template, set[str]],
                                                                tmp_path: Path) -> None:
    template, canaries = populated
    submitted, revoked = RECORDS - RECORDS // 10, len(range(0, RECORDS, 5))
    assert len(canaries) == RECORDS * len(TEXT_FIELDS) + submitted * 4 + revoked  # all unique
    v = copy(template, tmp_path)
    with v.unlock("erin") as erin:
        assert erin.list_records() == []
        tables = dump_tables(erin)
        with erin.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM records").scalar_one() == RECORDS
        assert not leaks(tables, canaries), leaks(tables, canaries)
        # With a session open, the latest pages are in the WAL: scan it too.
        assert (v.directory / "vault.db-wal").stat().st_size > 0
        files = {str(p): b for p, b in all_bytes([v.directory]).items()}
        assert {"vault.db", "vault.db-wal", "vault.keys"} <= {Path(p).name for p in files}
        assert not leaks(files, canaries), leaks(files, canaries)

        # The search would have found a canary: one written in plain text by the audit log ...
        note = canary("probe")
        with erin.write() as conn:
            erin.append(conn, [audit.Event("test.note", properties={"note": note})])
        assert leaks(dump_tables(erin), canaries | {note})
        # ... and in either encoding, in any file.
        tail_only = note.rsplit("-", 1)[1]
        for form in (note.encode(), note.encode("utf-16-le"), tail_only.encode(), tail_only.encode("utf-16-le")):
            assert leaks({"probe": b"\x00xyz" + form + b"\x00"}, {note})
    files = {str(p): b for p, b in all_bytes([v.directory]).items()}
    assert not leaks(files, canaries), leaks(files, canaries)


def test_a_user_never_given_a_record_cannot_open_it_with_any_key_they_hold(
        populated: tuple[Template, set[str]], tmp_path: Path) -> None:
    template, _canaries = populated
    v = copy(template, tmp_path)
    with unlocked(v, "bob", "erin", "carol", ADMIN) as s:
        grants = rows(s["erin"], "SELECT record_id, user_id, hpke_suite, key_version, sealed FROM grants "
                                 "WHERE sealed IS NOT NULL")
        items = [("record", rid, rid, kv, blob)
                 for rid, kv, blob in rows(s["erin"], "SELECT id, key_version, content FROM records")]
        versions = {rid: kv for _k, rid, _i, kv, _b in items}
        items += [("addendum", rid, aid, versions[rid], blob)
                  for aid, rid, blob in rows(s["erin"], "SELECT id, record_id, content FROM addenda")]
        items += [("disclosure", rid, did, versions[rid], blob)
                  for did, rid, blob in rows(s["erin"], "SELECT id, record_id, content FROM external_disclosures")]
        assert len({g[0] for g in grants}) == RECORDS and len(items) > RECORDS * 2
        assert {g[1] for g in grants}.isdisjoint({s[n].user_id for n in ("erin", "carol", ADMIN)})

        # Control: the way the keys are opened here is right -- bob opens his own grants,
        # and the key he gets decrypts his records and their items.
        bob_keys = {rid: crypto.hpke_open(suite, s["bob"].secrets.hpke_private, bytes(sealed),
                                          envelopes.grant_info(s["bob"].vault_id, rid, kv))
                    for rid, uid, suite, kv, sealed in grants if uid == s["bob"].user_id}
        assert len(bob_keys) >= RECORDS // 4
        opened = [crypto.aead_decrypt(bob_keys[rid], bytes(blob), envelopes.aad(kind, rid, item, kv))
                  for kind, rid, item, kv, blob in items if rid in bob_keys]
        assert len(opened) > len(bob_keys)

        for name in ("erin", "carol", ADMIN):
            session = s[name]
            held = {"hpke private": session.secrets.hpke_private, "database key": session.secrets.db_key,
                    "signing key": session.secrets.sign_private}
            for key in held.values():
                for rid, _uid, suite, kv, sealed in grants:
                    with pytest.raises(crypto.AuthenticationFailed):
                        crypto.hpke_open(suite, key, bytes(sealed), envelopes.grant_info(session.vault_id, rid, kv))
                for kind, rid, item, kv, blob in items:
                    for aad in (envelopes.aad(kind, rid, item, kv), b""):
                        with pytest.raises(crypto.AuthenticationFailed):
                            crypto.aead_decrypt(key, bytes(blob), aad)
            first = items[0][1]
            with pytest.raises(AccessDenied):
                session.view_record(first)


# --- 4. revoking re-keys --------------------------------------------------------------------


def test_a_revoked_readers_saved_key_opens_nothing_new(people: Template, tmp_path: Path) -> None:
    v = copy(people, tmp_path)
    with unlocked(v, "bob", "dave", "lena") as s:
        bob, dave = s["bob"], s["dave"]
        ref = bob.create_record({"own_words": "old words", "observations": "seen"})
        bob.add_addendum(ref, "before the revocation")
        bob.disclose_record(ref, to="Police", channel="verbal", basis="legal duty", summary="minimal",
                            consent="given")
        bob.share_record(ref, "dave", "consent_given")
        bob.share_record(ref, "lena", "line_manager_advice")
        assert dave.view_record(ref).content["own_words"] == "old words"
        assert s["lena"].view_record(ref).content["own_words"] == "old words"  # lena's session caches v1

        # dave, an insider, keeps copies of his sealed key and of the ciphertext.
        [(rid, old_version, old_content)] = rows(dave, "SELECT id, key_version, content FROM records")
        [(saved_grant, saved_suite)] = rows(dave, "SELECT sealed, hpke_suite FROM grants WHERE user_id = ?",
                                            dave.user_id)
        old_items = rows(dave, "SELECT id, content FROM addenda")
        old_key = crypto.hpke_open(saved_suite, dave.secrets.hpke_private, bytes(saved_grant),
                                   envelopes.grant_info(dave.vault_id, rid, old_version))
        assert old_version == 1
        crypto.aead_decrypt(old_key, bytes(old_content), envelopes.aad("record", rid, rid, 1))  # it is the old key

        bob.revoke_record(ref, "dave")
        after = bob.add_addendum(ref, "after the revocation")

        [(new_version, new_content)] = rows(dave, "SELECT key_version, content FROM records")
        assert new_version == old_version + 1 and bytes(new_content) != bytes(old_content)
        [(sealed, revoked_at)] = rows(dave, "SELECT sealed, revoked_at FROM grants WHERE user_id = ?", dave.user_id)
        assert sealed is None and revoked_at
        new_items = rows(dave, "SELECT id, content FROM addenda")
        new_disclosures = rows(dave, "SELECT id, content FROM external_disclosures")
        assert [i for i, _c in new_items] == [i for i, _c in old_items] + [after]
        for version in (old_version, new_version):
            with pytest.raises(crypto.AuthenticationFailed):
                crypto.aead_decrypt(old_key, bytes(new_content), envelopes.aad("record", rid, rid, version))
            for kind, items in (("addendum", new_items), ("disclosure", new_disclosures)):
                for item, blob in items:
                    with pytest.raises(crypto.AuthenticationFailed):
                        crypto.aead_decrypt(old_key, bytes(blob), envelopes.aad(kind, rid, item, version))

        # Control: the remaining reader's new key opens the new ciphertext.
        [(lena_sealed,)] = rows(dave, "SELECT sealed FROM grants WHERE user_id = ?", s["lena"].user_id)
        new_key = crypto.hpke_open(saved_suite, s["lena"].secrets.hpke_private, bytes(lena_sealed),
                                   envelopes.grant_info(dave.vault_id, rid, new_version))
        assert new_key != old_key
        crypto.aead_decrypt(new_key, bytes(new_content), envelopes.aad("record", rid, rid, new_version))
        for item, blob in new_items:
            crypto.aead_decrypt(new_key, bytes(blob), envelopes.aad("addendum", rid, item, new_version))
        assert {kv for (kv,) in rows(dave, "SELECT key_version FROM grants WHERE sealed IS NOT NULL")} == {2}

        # dave is refused; the others read on, the addendum written after the revocation too.
        denied = str(pytest.raises(AccessDenied, dave.view_record, ref).value)
        assert denied == f"Record {ref} does not exist or was not shared with you."
        assert ref not in {r.reference for r in dave.list_records()}
        for reader in (bob, s["lena"]):
            view = reader.view_record(ref)
            assert view.content["own_words"] == "old words" and view.signed
            assert [a.body["text"] for a in view.addenda] == ["before the revocation", "after the revocation"]
            assert view.disclosures[0].body["summary"] == "minimal"
        with v.unlock("lena") as fresh:
            assert fresh.view_record(ref).addenda[1].body["text"] == "after the revocation"

        # Putting his old grant back as an insider gets dave nothing: it seals the old key, and the
        # signed log no longer names him a reader.
        insider(dave, "UPDATE grants SET sealed = ?, revoked_at = NULL, revoked_by = NULL, key_version = 1 "
                      "WHERE user_id = ?", bytes(saved_grant), dave.user_id)
        with pytest.raises((AccessDenied, TamperDetected)) as info:
            dave.view_record(ref)
        assert_one_sentence(info.value)


# --- 5. moved ciphertext ----------------------------------------------------------------------


def test_ciphertext_moved_to_another_record_or_item_does_not_authenticate(people: Template,
                                                                          tmp_path: Path) -> None:
    v = copy(people, tmp_path)
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        one = bob.create_record({"own_words": "first", "observations": "seen"})
        two = bob.create_record({"own_words": "second", "observations": "seen"})
        draft = bob.create_record({"own_words": "draft", "observations": "seen"}, draft=True)
        a1, a2 = bob.add_addendum(one, "one a"), bob.add_addendum(one, "one b")
        a3 = bob.add_addendum(two, "two a")
        d1 = bob.disclose_record(one, to="Police", channel="verbal", basis="duty", summary="m", consent="given")
        ids = {ref: bob.view_record(ref).summary.id for ref in (one, two, draft)}
        insider(bob, "DROP TRIGGER records_submitted_immutable")

        def content(table: str, item: int) -> bytes:
            [(blob,)] = rows(bob, f"SELECT content FROM {table} WHERE id = ?", item)
            return bytes(blob)

        moves = [  # (table, column, target id, moved value, the record that must then fail)
            ("records", "content", ids[one], content("records", ids[two]), one),
            ("records", "content", ids[draft], content("records", ids[two]), draft),
            ("addenda", "content", a1, content("addenda", a2), one),  # same record, same key
            ("addenda", "content", a3, content("addenda", a1), two),
            ("addenda", "record_id", a1, ids[two], two),
            ("external_disclosures", "content", d1, content("addenda", a1), one),
            ("addenda", "content", a2, content("external_disclosures", d1), one),
        ]
        for table, column, target, value, victim in moves:
            [(original,)] = rows(bob, f"SELECT {column} FROM {table} WHERE id = ?", target)
            insider(bob, f"UPDATE {table} SET {column} = ? WHERE id = ?", value, target)
            with pytest.raises(TamperDetected) as info:
                bob.view_record(victim)
            assert_one_sentence(info.value)
            insider(bob, f"UPDATE {table} SET {column} = ? WHERE id = ?", original, target)
            assert bob.view_record(victim).summary.reference == victim  # the move was the only fault
        assert [a.body["text"] for a in bob.view_record(one).addenda] == ["one a", "one b"]
        # The refusal is the cipher's, not only the signed body's: under the record's own key,
        # an item's ciphertext does not authenticate in another item's place.
        key = bob.content_keys[(ids[one], 1)]
        crypto.aead_decrypt(key, content("addenda", a2), envelopes.aad("addendum", ids[one], a2, 1))  # control
        for blob, kind, item in ((content("addenda", a2), "addendum", a1),
                                 (content("addenda", a2), "disclosure", a2),
                                 (content("external_disclosures", d1), "addendum", d1),
                                 (content("records", ids[one]), "addendum", ids[one])):
            with pytest.raises(crypto.AuthenticationFailed):
                crypto.aead_decrypt(key, blob, envelopes.aad(kind, ids[one], item, 1))
        with pytest.raises(crypto.AuthenticationFailed):
            crypto.aead_decrypt(key, content("addenda", a2), envelopes.aad("addendum", ids[two], a2, 1))
