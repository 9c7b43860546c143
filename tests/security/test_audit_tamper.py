"""An insider holding the database key (``session.engine``) tampers with the audit log
(SPEC §3.3): edits, deletions, re-ordering, truncation, roll-back, re-chaining and a
forged user. ``audit_verify`` must catch each one and name the first bad event.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc

from tests.conftest import ADMIN
from tests.security._util import BOB, Template, build_template
from vault import audit, crypto
from vault.session import Session


@dataclass
class Log:
    """A template vault whose log has a kept checkpoint and events after it."""

    template: Template
    checkpoint: audit.Checkpoint
    length: int


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    tpl = build_template(tmp_path_factory.mktemp("tamper") / "vault", notes=20)
    d = tpl.directory
    with tpl.unlock(d) as alice:
        cp = alice.audit_checkpoint()
    with tpl.unlock(d) as alice, tpl.unlock(d, BOB) as bob:
        for i in range(8):
            s = alice if i % 2 else bob
            with s.write() as conn:
                s.append(conn, [audit.Event("test.after_checkpoint", properties={"i": i})])
    with tpl.unlock(d) as alice:
        result = alice.audit_verify([cp])
        assert result.ok, result.sentence()
        length = result.head_seq
    assert cp.seq >= 30 and length >= cp.seq + 10
    return Log(tpl, cp, length)


@pytest.fixture
def insider(log: Log, tmp_path: Path) -> Iterator[Session]:
    """A fresh copy of the log, unlocked by the admin, with the append-only triggers dropped."""
    d = log.template.copy_to(tmp_path / "vault")
    session = log.template.unlock(d)
    with session.engine.begin() as c:
        c.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        c.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
    yield session
    session.lock()


def rows(session: Session) -> list[dict[str, Any]]:
    with session.read() as conn:
        return [dict(r._mapping) for r in conn.exec_driver_sql("SELECT * FROM audit_events ORDER BY seq")]


def note_by(session: Session, actor_id: int, before: int) -> int:
    """The seq of a test note by ``actor_id`` well inside the log, before ``before``."""
    seqs = [r["seq"] for r in rows(session)
            if r["action"] == "test.note" and r["actor_id"] == actor_id and 5 < r["seq"] < before]
    assert seqs
    return seqs[len(seqs) // 2]


def sql(session: Session, statement: str, params: dict[str, Any] | None = None) -> None:
    with session.engine.begin() as c:
        c.exec_driver_sql(statement, params or {})


def assert_caught(result: audit.VerifyResult, seq: int) -> None:
    assert not result.ok
    assert result.first_bad_seq == seq, result.sentence()
    if "truncated or rolled back" in result.reason:
        # A log that stops short names its last event (seq - 1) and the checkpoint it fails.
        assert f"event {seq - 1} " in result.sentence(), result.sentence()
    else:
        assert f"event {seq} " in result.sentence(), result.sentence()


# --- the triggers ---------------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET properties = '{}' WHERE seq = 3",
    "UPDATE audit_events SET seq = seq + 1000",
    "DELETE FROM audit_events WHERE seq = 3",
    "DELETE FROM audit_events",
    "INSERT INTO audit_events SELECT * FROM audit_events WHERE seq = 3 ON CONFLICT(seq) DO UPDATE SET action = 'x'",
])
def test_triggers_refuse_update_and_delete(log: Log, tmp_path: Path, statement: str) -> None:
    d = log.template.copy_to(tmp_path / "vault")
    with log.template.unlock(d) as s:
        before = rows(s)
        with pytest.raises(sqlalchemy.exc.SQLAlchemyError, match="append-only"), s.engine.begin() as c:
            c.exec_driver_sql(statement)
        assert rows(s) == before
        assert s.audit_verify([log.checkpoint]).ok


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_triggers_refuse_replace(log: Log, tmp_path: Path, verb: str) -> None:
    d = log.template.copy_to(tmp_path / "vault")
    with log.template.unlock(d) as s:
        before = rows(s)
        with pytest.raises(sqlalchemy.exc.SQLAlchemyError, match="append-only"), s.engine.begin() as c:
            c.exec_driver_sql(
                f"{verb} INTO audit_events SELECT seq, at, actor_id, 'forged', record_id, object, properties, "
                "prev_hash, hash, signature FROM audit_events WHERE seq = 3")
        assert rows(s) == before


# --- edits, deletions, swaps ----------------------------------------------------------

EDITS: dict[str, Callable[[dict[str, Any]], tuple[str, Any]]] = {
    "properties": lambda r: ("properties", r["properties"].replace('"i":', '"i":1')),
    "at": lambda r: ("at", r["at"].replace(":", ";", 1)),
    "actor_id": lambda r: ("actor_id", 1),  # bob's event now claims to be alice's
    "action": lambda r: ("action", "test.harmless"),
}


@pytest.mark.parametrize("column", sorted(EDITS))
def test_edited_event(insider: Session, log: Log, column: str) -> None:
    seq = note_by(insider, 2, log.checkpoint.seq)
    row = next(r for r in rows(insider) if r["seq"] == seq)
    name, value = EDITS[column](row)
    assert value != row[name]
    sql(insider, f"UPDATE audit_events SET {name} = :v WHERE seq = :s", {"v": value, "s": seq})
    assert_caught(insider.audit_verify(), seq)
    assert_caught(insider.audit_verify(signatures=False), seq)


def test_deleted_middle_event(insider: Session, log: Log) -> None:
    seq = note_by(insider, 1, log.checkpoint.seq)
    sql(insider, "DELETE FROM audit_events WHERE seq = :s", {"s": seq})
    assert_caught(insider.audit_verify(), seq)


def test_swapped_events(insider: Session, log: Log) -> None:
    first = note_by(insider, 1, log.checkpoint.seq)
    second = first + 5
    by_seq = {r["seq"]: r for r in rows(insider)}
    columns = [c for c in by_seq[first] if c != "seq"]
    assert by_seq[first]["properties"] != by_seq[second]["properties"]
    for target, source in ((first, second), (second, first)):
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        sql(insider, f"UPDATE audit_events SET {sets} WHERE seq = :seq",
            {**{c: by_seq[source][c] for c in columns}, "seq": target})
    assert_caught(insider.audit_verify(), first)


# --- truncation and roll-back ------------------------------------------------------------


def test_truncated_tail(insider: Session, log: Log) -> None:
    cut = log.checkpoint.seq - 1  # delete cut..end, the checkpointed event included
    sql(insider, "DELETE FROM audit_events WHERE seq >= :s", {"s": cut})
    # What is left is a perfectly good chain: every remaining event links to the one before
    # and is signed; nothing inside a log says how long it ought to be. Only a checkpoint
    # kept outside the vault shows that events are gone.
    plain = insider.audit_verify()
    assert plain.ok and plain.head_seq == cut - 1, plain.sentence()
    assert_caught(insider.audit_verify([log.checkpoint]), cut)


def test_truncated_then_regrown(insider: Session, log: Log) -> None:
    cut = log.checkpoint.seq - 1
    sql(insider, "DELETE FROM audit_events WHERE seq >= :s", {"s": cut})
    for i in range(log.length - cut + 3):  # honest-looking, correctly signed new events
        with insider.write() as conn:
            insider.append(conn, [audit.Event("test.regrown", properties={"i": i})])
    assert insider.audit_verify().ok
    assert_caught(insider.audit_verify([log.checkpoint]), log.checkpoint.seq)


def test_rolled_back_to_an_older_copy(log: Log, tmp_path: Path) -> None:
    tpl = log.template
    d = tpl.copy_to(tmp_path / "vault")
    old = tmp_path / "old-copy"
    shutil.copytree(d, old)  # the vault is closed: vault.db holds everything
    with tpl.unlock(d) as alice:
        with alice.write() as conn:
            alice.append(conn, [audit.Event("test.later", properties={"n": n}) for n in range(3)])
    with tpl.unlock(d) as alice:
        late = alice.audit_checkpoint()
    shutil.rmtree(d)
    shutil.copytree(old, d)
    with tpl.unlock(d) as alice:
        # The roll-back is invisible without a checkpoint, and an older checkpoint still holds.
        assert alice.audit_verify().ok
        assert alice.audit_verify([log.checkpoint]).ok
        result = alice.audit_verify([log.checkpoint, late])
        assert_caught(result, result.head_seq + 1)
        assert result.head_seq < late.seq
        # Growing the rolled-back log past the checkpoint does not hide it either.
        while True:
            with alice.write() as conn:
                [(seq, _h)] = alice.append(conn, [audit.Event("test.regrown")])
            if seq > late.seq:
                break
        assert_caught(alice.audit_verify([late]), late.seq)


# --- re-chaining --------------------------------------------------------------------------


def _rechain(session: Session, start: int, stop: int) -> None:
    """Recompute prev_hash and hash of events start..stop (inclusive) from the stored columns.
    The insider has the database key but not the other users' signing keys, so signatures stay."""
    by_seq = {r["seq"]: r for r in rows(session)}
    prev = bytes(by_seq[start - 1]["hash"])
    with session.engine.begin() as c:
        for seq in range(start, stop + 1):
            r = by_seq[seq]
            digest = audit.event_hash(prev, seq, r["at"], r["actor_id"], r["action"], r["record_id"],
                                      r["object"], r["properties"])
            c.exec_driver_sql("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s",
                              {"p": prev, "h": digest, "s": seq})
            prev = digest


def test_edit_then_rechain_is_caught_by_signatures(insider: Session, log: Log) -> None:
    seq = note_by(insider, 2, log.checkpoint.seq)
    sql(insider, "UPDATE audit_events SET properties = :p WHERE seq = :s", {"p": '{"i":999}', "s": seq})
    last = rows(insider)[-1]["seq"]

    _rechain(insider, seq, last - 1)  # a sloppy re-chain that misses the last event
    assert_caught(insider.audit_verify(signatures=False), last)

    _rechain(insider, seq, last)  # a correct re-chain: the hashes alone now agree
    assert insider.audit_verify(signatures=False).ok
    assert_caught(insider.audit_verify(), seq)  # but the edited event's signature does not verify
    # A checkpoint kept after the edited event catches it even without signatures.
    assert_caught(insider.audit_verify([log.checkpoint], signatures=False), log.checkpoint.seq)


# --- forged users and keys -----------------------------------------------------------------


def _puppet_props(session: Session, puppet: crypto.Signer, uid: int = 99) -> dict[str, Any]:
    return {"user_id": uid, "username": "puppet", "roles": ["admin"], "hpke_suite": session.hpke_suite,
            "hpke_public": crypto.hpke_public(session.hpke_suite, crypto.hpke_generate(session.hpke_suite)).hex(),
            "sign_public": puppet.public_raw().hex()}


def _append_as(session: Session, signer: crypto.Signer, actor_id: int, event: audit.Event) -> int:
    with session.write() as conn:
        [(seq, _h)] = audit.append(conn, session.vault_id, signer, actor_id, [event], session.vault.clock)
    return seq


@pytest.mark.parametrize("claimed_actor", ["bob_himself", "alice"])
def test_forged_user_added_by_a_non_admin(log: Log, tmp_path: Path, cli: Any, claimed_actor: str) -> None:
    tpl = log.template
    d = tpl.copy_to(tmp_path / "vault")
    puppet = crypto.Signer(crypto.Signer.generate_raw())
    with tpl.unlock(d, BOB) as bob:
        bob_signer = crypto.Signer(bob.secrets.sign_private)
        actor = bob.user_id if claimed_actor == "bob_himself" else 1
        forged = _append_as(bob, bob_signer, actor,
                            audit.Event("user.added", object="user:99", properties=_puppet_props(bob, puppet)))
        # The puppet then acts, signing with the key the forged event introduced.
        _append_as(bob, puppet, 99, audit.Event("test.puppet"))
    with tpl.unlock(d, ADMIN) as alice:
        assert_caught(alice.audit_verify(), forged)
        # The puppet is not trusted: nothing can be sealed to it, and the problem is noted.
        assert 99 not in alice.directory.people
        assert any(f"event {forged}," in p for p in alice.directory.problems)
    listed = cli("user", "list", "--vault", str(d), "--user", ADMIN, "--password-stdin",
                 stdin=tpl.passwords[ADMIN] + "\n")
    assert listed.code == 0 and "warning: 1 audit event(s) recording users do not verify" in listed.err


def test_key_swapped_in_the_users_table_does_not_verify(insider: Session) -> None:
    # verify must use the key the chain recorded for bob, not the users table an insider can edit.
    puppet = crypto.Signer(crypto.Signer.generate_raw())
    sql(insider, "UPDATE users SET sign_public = :k WHERE id = 2", {"k": puppet.public_raw()})
    forged = _append_as(insider, puppet, 2, audit.Event("test.as_bob"))
    assert_caught(insider.audit_verify(), forged)


# --- through the command line ---------------------------------------------------------------


def test_cli_verify_with_checkpoint_names_the_first_bad_event(cli: Any, log: Log, tmp_path: Path) -> None:
    tpl = log.template
    d = tpl.copy_to(tmp_path / "vault")
    cp_file = tmp_path / "checkpoint.json"
    cp_file.write_text(log.checkpoint.to_json() + "\n")
    args = ("audit", "verify", "--vault", str(d), "--user", ADMIN, "--password-stdin", "--checkpoint", str(cp_file))

    clean = cli(*args, stdin=tpl.passwords[ADMIN] + "\n")
    assert clean.code == 0, clean.err
    assert "does not verify" not in clean.out

    with tpl.unlock(d) as s:
        seq = note_by(s, 1, log.checkpoint.seq)
        sql(s, "DROP TRIGGER audit_events_no_update")
        sql(s, "UPDATE audit_events SET properties = '{\"i\":-1}' WHERE seq = :s", {"s": seq})
    r = cli(*args, stdin=tpl.passwords[ADMIN] + "\n")
    assert r.code == 1, (r.code, r.out, r.err)
    assert f"event {seq} " in r.out, r.out
    assert "Traceback" not in r.out + r.err

