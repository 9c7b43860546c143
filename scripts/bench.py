"""Performance figures of incident-vault, each against a baseline measured in the same run (SPEC §10).

Usage::

    python scripts/bench.py [--quick] [--json] [--events N] [--growth]

``--json`` prints one JSON object on stdout: a ``meta`` key (versions, CPU count,
scale, date) and one key per figure, each
``{"median_s", "baseline", "baseline_s", "ratio"}`` with ``ratio = median_s / baseline_s``,
plus ``per_s`` for rates and ``target``/``met`` where the project has set a target.
Without ``--json`` the same figures are printed as a table. Progress goes to stderr.
``--quick`` measures the same figures on a smaller audit log (20,000 events
instead of 1,000,000), 10,000 listed and checked records instead of 100,000, 2,000 searched records
instead of 10,000 and fewer repetitions,
so that the whole run takes under a minute on two cores; ``--events N`` sets the audit
log's size for either scale.

``--growth`` adds a ``growth`` key: how cost grows with the vault. The list page and a cold
search at 1,000, 10,000 and 100,000 records; the hash-only and signed
verifications, the export and the auditor's page at 100,000 and 1,000,000 events. Each is the
same figure as below, with its same-run baseline at that size (a size the main run measured is
taken from it), as ``{"<size>": {"median_s", "baseline_s", "ratio"[, "per_s"]}}``.

The figures and their baselines:

``kdf``
    ``vault.crypto.derive_key`` at the default Argon2id cost (t=3, m=64 MiB, p=4),
    against ``argon2.low_level.hash_secret_raw`` called directly with the same
    parameters (``argon2id_bare``); the two are interleaved.
``unlock``
    ``Vault(dir).unlock(user, password)`` on a vault whose slots use the default
    Argon2id cost: Argon2id, opening the slot, keying SQLCipher, the migrations
    check, reading the session and committing the signed ``unlock`` event. The
    session is locked after each unlock, outside the timed region. The first
    (cold) unlock of the process is reported separately as ``cold_s``. Baseline:
    this run's ``kdf`` median, so ``overhead_s`` is what unlocking adds to the KDF.
``audit_append``
    One event per committed write transaction through the real API
    (``session.write()`` + ``session.append``), per event. Baseline
    (``sqlcipher_insert_commit``): a raw ``sqlcipher3`` connection, keyed and
    configured exactly like the vault's (``vault.db.configure_connection``),
    inserting a row of the same shape into a table with the vault's own
    ``audit_events`` DDL (indexes and triggers), one ``BEGIN IMMEDIATE``/``COMMIT``
    per row. The two alternate event by event.
``audit_verify_signed``
    ``session.audit_verify()`` (chain, hashes and Ed25519 signatures on the
    default two worker threads) over a log of N events, as events/s. Baseline
    (``ed25519_verify_bare``): pyca ``cryptography`` verifying the log's own N
    (signature, 32-byte hash) pairs on one thread, already in memory. The ratio
    may be below 1 because verify uses two threads.
``audit_verify_hash``
    ``vault.audit.verify(engine, vault_id, signatures=False)``: reading the log,
    checking the hash chain, each event's properties against its action's shape
    and that its signer may state it (vault/facts.py). The log is N views of
    records (``record.viewed``, object and properties as the vault writes them)
    by the admin. Baseline (``sqlcipher_read_sha256``): a raw
    ``sqlcipher3`` cursor reading the same ten columns of the same table in
    ``seq`` order and hashing the concatenation of each row's fields with SHA-256.
``audit_export_1m``
    ``vault.audit_log.export`` of the whole log as JSON Lines to a file (CSV as the
    extra key ``csv_median_s``), each event's properties checked before they are
    written as stored. Baseline (``sqlcipher_read_write``): a raw
    ``sqlcipher3`` cursor reading the same ten columns in ``seq`` order and
    writing each row as one tab-separated line (bytes as hex) to a file.
``audit_verify_export_1m``
    ``vault.export_verify.verify_file`` of a JSON Lines export of the whole log (``audit export``,
    its checkpoint signed): what ``audit verify-export`` does with no vault — parse each line, the
    chain, hashes, shapes, entitlement, actor names and every Ed25519 signature on two threads,
    the signed checkpoint, count and digest. Baseline (``audit_verify_hash``): the vault's own
    hash-only verify of the same events from the database, measured in the same runs; the
    signed database verify's median is kept beside it as ``signed_db_median_s``.
``record_create``
    ``session.create_record(RECORD, share_with=[("sam", "legal_duty")])`` (a made-up
    record of about 1 KiB of JSON) by a writer: validate, encrypt and sign the
    content, seal its key to the author, the safeguarding officer ``sam`` and the
    recovery key (``readers``: 3), insert the row and the grants, append the signed
    ``record.created``, ``record.submitted`` and ``record.shared`` events, commit
    once. This is the issue's operation (p50 <= 5 ms to seal to 3 readers, encrypt,
    sign the event and commit), so ``target``/``met`` judge ``median_s``. Two
    variants are measured beside it: ``alone_median_s``, ``create_record(RECORD)``,
    sealed to the author and the recovery key only (``alone_readers``: 2), and
    ``with_share_median_s``, that create followed by ``share_record`` to ``sam``:
    the same 3 readers in two transactions (``with_share_readers``), the only way
    to reach them before ``share_with`` existed.
    Baseline (``primitives_plus_raw_insert``), the bare primitives of the issue's
    operation: 3 ``crypto.hpke_seal`` of a 32-byte key, ``crypto.aead_encrypt`` of the
    same record plaintext (as ``_seal_body`` makes it), 2 Ed25519 signatures (content
    and one event; the API signs three events), then a raw ``sqlcipher3`` INSERT of a copy of the real record
    row (its content replaced by the new ciphertext) and of its real ``record.created``
    event row into index-free scratch tables of a separate scratch database (keyed
    and configured like the vault's), one ``BEGIN IMMEDIATE``/``COMMIT``. The three
    creates and the baseline alternate.
``record_view``
    ``session.view_record(ref)`` of a submitted record shared to a second reader,
    with two addenda: find it and the reader's grant, open the key (HPKE), decrypt
    and check the signatures of the content and both addenda, list the readers,
    append the signed ``record.viewed`` event, commit. ``median_s`` is the cold view:
    each record's first view in a fresh session, so its key is not yet cached (the
    session's very first view, which compiles the statements, is not timed);
    ``warm_median_s`` views the same records again (key cached). Baseline
    (``primitives_plus_raw_lookup``): 1 ``crypto.hpke_open`` of that record's real
    sealed key, 3 ``crypto.aead_decrypt`` of its real ciphertexts, 3 Ed25519 verifies
    of their signatures, 1 signature, then in one ``BEGIN IMMEDIATE``/``COMMIT`` a raw
    point lookup by primary key in the scratch records table and an insert of a real
    ``record.viewed`` row. Cold views and the baseline alternate.
``list_page_100k``
    ``session.list_records(limit=200)``: the newest page of the records the user can
    read, when the vault holds ``records`` of them (100,000; 10,000 with ``--quick``);
    ``deep_offset_median_s`` is the page at offset 10,000 (``deep_offset``; 9,800 with
    ``--quick``, the last full page). The records are built fast, not through ``create``
    (which commits each): batches of 5,000 per write transaction of real rows, each
    with its own key, encrypted and signed content (one in 25 a draft, unsigned) and
    its key sealed per record to the author and the recovery key, and to a second
    reader for one in four; categories, urgencies and protection vary; one every ten
    minutes. Baseline (``raw_page_query``): the very SQL text and parameters the API
    sends (captured from the engine), run on a raw ``sqlcipher3`` cursor in a read
    transaction and fetched. The four measures alternate, ``list_runs`` times at most,
    stopping early (after at least three) once they have taken ``list_budget_s``;
    ``runs`` says how many were made.
``search_10k_cold``
    ``list(session.search_records(words))`` over ``records`` readable records (10,000;
    2,000 with ``--quick``), built as for the list, for words found in exactly one of
    them: every record's key opened (HPKE), its content decrypted and its signature
    checked (the one draft in 25 has none), each text field matched, and the one
    ``record.search`` event committed. Cold: the first search of a fresh session, so
    no content key is cached yet. Baseline (``primitives_plus_raw_read``): one raw
    ``sqlcipher3`` read of the same rows joined to the user's grants, and for each
    row ``crypto.hpke_open``, ``crypto.aead_decrypt``, the two JSON parses, the
    Ed25519 verify and the same case-blind match. ``per_s`` is records searched per second.
``search_10k_warm``
    The same search again in the same session: the content keys are cached (SPEC §10),
    so no HPKE; everything else is done again. Baseline
    (``primitives_plus_raw_read_keys_cached``): the baseline above with its keys kept.
    Each of ``search_runs`` runs (3; 5 at full scale) unlocks a fresh session and then
    times the cold search, the cold baseline, the warm search and the warm baseline.

``check_100k``
    ``session.check()``, the whole check (SQLCipher's page check, SQLite's integrity and
    foreign-key checks, the audit chain and signatures, and its own ``vault.checked`` event), on
    a vault of ``records`` records (100,000; 10,000 with ``--quick``) built as for the list, so
    with a log of a few events: what a longer log adds is ``audit_verify_signed``'s rate. The
    seconds each phase took (from the check's own progress reports, which come at each phase's
    end) are ``pages_s``, ``integrity_s``, ``foreign_keys_s`` and ``audit_s``. Baseline
    (``raw_cipher_integrity_check``): ``PRAGMA cipher_integrity_check`` on a raw ``sqlcipher3``
    connection to the same file, keyed and configured like the vault's. The two alternate,
    ``check_runs`` times (3; 5 at full scale).

``guidance_review_5000_words``
    ``vault.guidance.review(text)`` of a text of 5,000 words made of the sentences of
    the two development sets in ``tests/vault`` (shuffled with a fixed seed, in
    paragraphs of six): far denser in findings than a real record, so a hard case.
    The target is p50 <= 10 ms, so that the TUI can review on every keystroke.
    ``first_call_s`` is the process's first review, which also compiles the rules.
    Baseline (``regex_words``): ``re.findall(r"\\w+", text)``, one pass that only
    splits the same text into words. The two alternate, ``guidance_runs`` times.

The record figures use three vaults (one for create and view, one for the list, one
for search) whose admin is also staff (a writer), with a second user, ``sam``, a
safeguarding officer; the timed calls go through the session, as the CLI's do. These and the audit
figures' vault use a cheap (still accepted) Argon2id cost. The audit vault's
log is built in batches of 10,000 events per transaction with
``vault.audit.append``, then left unchanged while verify and export are timed.
The raw-driver baselines run in this process, and SQLCipher's ``cipher_memory_security``
is process-wide once any connection turns it on (the vault does), so they pay
for it too: the ratios show what the vault's own layers cost, not that setting.
Everything lives in a temporary directory removed at the end. Passwords are
throwaway values made up here; no key or password is ever printed.
"""

# The imports of third-party and project modules follow the sys.path set-up below.
# ruff: noqa: E402

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlcipher3
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import event, insert

from vault import audit, audit_log, check, crypto, db, envelopes, export_verify, guidance, record_schema, records
from vault.models import Grant, Record, RecordCounter
from vault.session import Session, Vault

CHEAP_ARGON2 = crypto.Argon2Params(time_cost=2, memory_kib=19 * 1024, parallelism=1)
ADMIN = "alice"
BUILD_BATCH = 10_000

VERIFY_SIGNED_TARGET_PER_S = 12_000.0
VERIFY_HASH_TARGET_PER_S = 200_000.0
UNLOCK_OVERHEAD_TARGET_S = 0.050
EXPORT_TARGET_RATIO = 1.5
RECORD_CREATE_TARGET_S = 0.005
RECORD_VIEW_TARGET_S = 0.003
LIST_PAGE_TARGET_S = 0.050
CHRONOLOGY_TARGET_S = 0.100
AUDIT_PAGE_TARGET_S = 0.050
CASE_RECORDS = 20
CHRONOLOGY_ADDENDA = 24  # per record: 20 records and 480 addenda are 500 entries

READER = "sam"  # a safeguarding officer: the third reader a shared record is sealed to
SHARE_REASON = "legal_duty"
LIST_PAGE = 200
DEEP_OFFSET = 10_000  # page 50, counting pages of 200 from 0
RECORD_BATCH = 5_000  # records built per write transaction for the list figure
ADDENDA = 2  # per viewed record
MIN_LIST_RUNS = 3

AUDIT_COLUMNS = "seq, at, actor_id, action, record_id, object, properties, prev_hash, hash, signature"
SELECT_LOG = f"SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY seq"
INSERT_LOG = f"INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

SCRATCH_DDL = (
    "CREATE TABLE scratch_records (id INTEGER PRIMARY KEY, reference TEXT, author_id INTEGER, status TEXT, "
    "category TEXT, urgency TEXT, protected INTEGER, created_at TEXT, updated_at TEXT, submitted_at TEXT, "
    "referred_at TEXT, key_version INTEGER, content BLOB)",
    "CREATE TABLE scratch_events (seq INTEGER PRIMARY KEY, at TEXT, actor_id INTEGER, action TEXT, "
    "record_id INTEGER, object TEXT, properties TEXT, prev_hash BLOB, hash BLOB, signature BLOB)",
)
RECORD_COLUMNS = ("id, reference, author_id, status, category, urgency, protected, created_at, updated_at, "
                  "submitted_at, referred_at, key_version, content")
INSERT_SCRATCH_RECORD = f"INSERT INTO scratch_records ({RECORD_COLUMNS}) VALUES ({', '.join('?' * 13)})"
INSERT_SCRATCH_EVENT = f"INSERT INTO scratch_events ({AUDIT_COLUMNS}) VALUES ({', '.join('?' * 10)})"
SELECT_SCRATCH_RECORD = f"SELECT {RECORD_COLUMNS} FROM scratch_records WHERE id = ?"
PAGE_QUERY = re.compile(r"\s*SELECT\b.*\bLIMIT\b", re.IGNORECASE | re.DOTALL)  # a list's page statement

# A made-up disclosure (about 1 KiB of JSON), every field filled in as a careful writer would.
RECORD: dict[str, Any] = {
    "occurred_at": "2026-03-02T08:50:00+00:00",
    "location": "Year 9 form room, before registration",
    "present": "The pupil (J.) and the form tutor; no one else in the room",
    "subject": "J., Year 9",
    "own_words": 'He said: "I don\'t want to go home tonight. When my mum\'s boyfriend has been drinking he '
                 'shouts, and last night he pushed me into the door. My little sister hid upstairs."',
    "questions_asked": '"Can you tell me more about last night?" Nothing else; I did not ask who or why.',
    "observations": "A bruise about 3 cm across above his left eye. He was quiet, kept his coat on and looked "
                    "at the floor while he spoke. He said he had not eaten breakfast.",
    "actions": "Told him I could not keep this a secret and who I would tell. Wrote this record at 09:15 and "
               "went to the safeguarding officer in person.",
    "concerns": "My opinion: he seemed frightened of going home. His younger sister may be at risk too.",
    "confidentiality_explained": True,
    "consent": "refused",
    "consent_reason": "He asked that his mum is not told that he spoke to me.",
    "wishes": "To stay with his grandmother tonight.",
    "category": "safeguarding",
    "urgency": "urgent",
    "protected": False,
}
ADDENDUM = ("Spoke to the safeguarding officer at 09:40; she called children's social care. J. went to his "
            "grandmother's after school, as he wished. His sister's school has been told.")

Figure = dict[str, Any]


@dataclass(frozen=True)
class Scale:
    """How much to measure: the audit log's size and the repetitions of each figure."""

    name: str
    events: int
    kdf_reps: int
    unlock_reps: int
    appends: int
    runs: int  # of each signed verify (the slow figure)
    read_runs: int  # of each hash-only verify and export (cheap at the quick scale, so more of them)
    creates: int  # of each record_create measure (three creates and the baseline)
    views: int  # records viewed cold, then warm (each with ADDENDA addenda)
    records: int  # readable records behind list_page_100k
    list_runs: int  # at most, of each list page and its baseline
    list_budget_s: float  # no more list runs once they have taken this long (at least MIN_LIST_RUNS)
    guidance_runs: int  # of each guidance review and its baseline
    search_records: int  # readable records searched by search_10k_cold and search_10k_warm
    case_runs: int  # cases opened for case_open_20; cold and warm chronology views
    search_runs: int  # of each search (cold and warm) and its baseline
    check_runs: int  # of the whole check and its baseline


QUICK = Scale("quick", events=20_000, kdf_reps=5, unlock_reps=7, appends=500, runs=3, read_runs=7,
              creates=150, views=100, records=10_000, list_runs=15, list_budget_s=5.0, guidance_runs=60,
              search_records=2_000, search_runs=3, case_runs=5, check_runs=3)
FULL = Scale("full", events=1_000_000, kdf_reps=9, unlock_reps=9, appends=1_000, runs=3, read_runs=3,
             creates=500, views=300, records=100_000, list_runs=25, list_budget_s=120.0, guidance_runs=300,
             search_records=10_000, search_runs=5, case_runs=15, check_runs=5)


# --- plumbing ------------------------------------------------------------------------


class Progress:
    """Timestamped progress lines on stderr (stdout is kept for the result)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.start:7.1f}s] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sig(x: float) -> float:
    """``x`` to six significant digits, for a readable JSON."""
    return float(f"{x:.6g}")


def figure(median_s: float, baseline: str, baseline_s: float, *, per_s: float | None = None,
           target: str | None = None, met: bool | None = None, **extra: float) -> Figure:
    """One figure in the SPEC §10 shape."""
    out: Figure = {"median_s": sig(median_s), "baseline": baseline, "baseline_s": sig(baseline_s),
                   "ratio": sig(median_s / baseline_s)}
    if per_s is not None:
        out["per_s"] = sig(per_s)
    out.update({key: sig(value) for key, value in extra.items()})
    if target is not None:
        out["target"] = target
        out["met"] = bool(met)
    return out


def throwaway_password() -> str:
    return "bench " + secrets.token_hex(12)


def raw_connect(path: Path, db_key: bytes) -> Any:
    """A raw ``sqlcipher3`` connection keyed and configured exactly as the vault's engine does it."""
    conn = sqlcipher3.connect(str(path))
    db.configure_connection(conn, db_key)
    conn.isolation_level = None  # explicit BEGIN/COMMIT, as the engine does
    return conn


@contextlib.contextmanager
def raw_connection(path: Path, db_key: bytes) -> Iterator[Any]:
    conn = raw_connect(path, db_key)
    try:
        yield conn
    finally:
        conn.close()


def signer_of(session: Session) -> crypto.Signer:
    """The unlocked admin's signing key (kept private by the session; a benchmark may borrow it)."""
    signer = session._signer
    if signer is None:
        raise RuntimeError("the session is locked")
    return signer


# --- kdf and unlock --------------------------------------------------------------------


def bench_kdf(scale: Scale, progress: Progress) -> Figure:
    params = crypto.DEFAULT_ARGON2
    password = throwaway_password().encode()
    salt = crypto.random_bytes(crypto.SALT_SIZE)

    def bare() -> bytes:
        return hash_secret_raw(secret=password, salt=salt, time_cost=params.time_cost,
                               memory_cost=params.memory_kib, parallelism=params.parallelism,
                               hash_len=crypto.KEY_SIZE, type=Type.ID)

    def wrapped() -> bytes:
        return crypto.derive_key(password, salt)

    if wrapped() != bare():
        raise RuntimeError("derive_key and hash_secret_raw disagree")
    progress(f"kdf: {scale.kdf_reps} x derive_key and hash_secret_raw, interleaved")
    times, bases = [], []
    for _ in range(scale.kdf_reps):
        times.append(timed(wrapped))
        bases.append(timed(bare))
    return figure(statistics.median(times), "argon2id_bare", statistics.median(bases))


def bench_unlock(workdir: Path, scale: Scale, kdf_s: float, progress: Progress) -> Figure:
    directory = workdir / "unlock-vault"
    password = throwaway_password()
    progress("unlock: creating a vault with the default Argon2id cost")
    Vault.init(directory, ADMIN, password)

    def unlock() -> Session:
        return Vault(directory).unlock(ADMIN, password)

    def once() -> float:
        start = time.perf_counter()
        session = unlock()
        elapsed = time.perf_counter() - start
        session.lock()
        return elapsed

    progress(f"unlock: 1 cold + {scale.unlock_reps} timed unlocks")
    cold = once()
    times = [once() for _ in range(scale.unlock_reps)]
    median = statistics.median(times)
    overhead = median - kdf_s
    return figure(median, "kdf", kdf_s, target=f"<= kdf + {UNLOCK_OVERHEAD_TARGET_S:.3f} s",
                  met=overhead <= UNLOCK_OVERHEAD_TARGET_S, overhead_s=overhead, cold_s=cold)


# --- audit append ---------------------------------------------------------------------------


def bench_append(workdir: Path, scale: Scale, progress: Progress) -> Figure:
    directory = workdir / "append-vault"
    password = throwaway_password()
    vault, _code = Vault.init(directory, ADMIN, password, argon2=CHEAP_ARGON2)
    session = vault.unlock(ADMIN, password)
    try:
        db_key = session.secrets.db_key
        baseline_path = workdir / "append-baseline.db"
        with raw_connection(vault.db_path, db_key) as source:
            ddl = [row[0] for row in source.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'audit_events' AND sql IS NOT NULL "
                "ORDER BY type = 'table' DESC")]
        with raw_connection(baseline_path, db_key) as raw:
            for statement in ddl:
                raw.execute(statement)
            prev_hash, digest, signature = (crypto.random_bytes(n) for n in (32, 32, 64))

            def api_append(i: int) -> None:
                with session.write() as conn:
                    session.append(conn, [audit.Event("record.viewed", record_id=i, properties={"n": i})])

            def raw_insert(i: int) -> None:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute(INSERT_LOG, (i, audit.now_iso(time.time), 1, "record.viewed", i, None,
                                         audit.canonical_json({"n": i}), prev_hash, digest, signature))
                raw.execute("COMMIT")

            for i in range(1, 21):  # warm up both paths (statement caches, first pages, WAL)
                api_append(i)
                raw_insert(i)
            progress(f"audit_append: {scale.appends} appends and raw inserts, alternating")
            times, bases = [], []
            for i in range(21, 21 + scale.appends):
                times.append(timed(partial(api_append, i)))
                bases.append(timed(partial(raw_insert, i)))
    finally:
        session.lock()
    median, base = statistics.median(times), statistics.median(bases)
    return figure(median, "sqlcipher_insert_commit", base, per_s=1 / median, baseline_per_s=1 / base)


# --- the big log: build, verify, export -------------------------------------------------------


def build_log(workdir: Path, events: int, progress: Progress) -> Session:
    """An unlocked session on a vault whose audit log holds exactly ``events`` events."""
    directory = workdir / "audit-vault"
    password = throwaway_password()
    vault, _code = Vault.init(directory, ADMIN, password, argon2=CHEAP_ARGON2)
    session = vault.unlock(ADMIN, password)
    signer = signer_of(session)
    with session.read() as conn:
        have, _head = audit.head(conn, session.vault_id)
    if events < have:
        raise SystemExit(f"--events must be at least {have}")
    progress(f"building an audit log of {events:,} events in batches of {BUILD_BATCH:,}")
    next_report = 100_000
    while have < events:
        n = min(BUILD_BATCH, events - have)
        # Views of records, as the vault writes them: verify and the export check each event's
        # properties against its action's shape (vault/facts.py), so the events must have it.
        batch = [audit.Event("record.viewed", record_id=i, object=f"IV-2026-{i:04d}",
                             properties={"reference": f"IV-2026-{i:04d}"}) for i in range(have, have + n)]
        with session.write() as conn:
            audit.append(conn, session.vault_id, signer, session.user_id, batch, vault.clock)
        have += n
        if have >= next_report or have == events:
            progress(f"  {have:,} / {events:,} events")
            next_report = have + 100_000
    return session


def raw_read_sha256(conn: Any) -> int:
    """The hash baseline: read every event's columns in order and SHA-256 each row's fields."""
    count = 0
    sha256 = hashlib.sha256
    for seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature in conn.execute(SELECT_LOG):
        sha256(b"".join((
            seq.to_bytes(8, "big"), at.encode(), actor_id.to_bytes(8, "big"), action.encode(),
            b"" if record_id is None else record_id.to_bytes(8, "big"), b"" if obj is None else obj.encode(),
            props.encode(), prev_hash, digest, signature,
        ))).digest()
        count += 1
    return count


def raw_read_write(conn: Any, path: Path) -> int:
    """The export baseline: read every event's ten columns in order, one tab-separated line each."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        write = out.write
        for seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature in conn.execute(SELECT_LOG):
            write(f"{seq}\t{at}\t{actor_id}\t{action}\t{'' if record_id is None else record_id}\t"
                  f"{'' if obj is None else obj}\t{props}\t{prev_hash.hex()}\t{digest.hex()}\t{signature.hex()}\n")
            count += 1
    return count


def expect(what: str, got: int, want: int) -> None:
    if got != want:
        raise RuntimeError(f"{what} saw {got} events, expected {want}")


def bench_verify_hash(session: Session, raw: Any, scale: Scale, events: int, progress: Progress) -> Figure:
    def api() -> None:
        result = audit.verify(session.engine, session.vault_id, signatures=False)
        if not result.ok:
            raise RuntimeError(result.sentence())
        expect("verify", result.events, events)

    def base() -> None:
        expect("sqlcipher_read_sha256", raw_read_sha256(raw), events)

    times, bases = [], []
    for run in range(1, scale.read_runs + 1):
        times.append(timed(api))
        bases.append(timed(base))
        progress(f"audit_verify_hash run {run}/{scale.read_runs}: {times[-1]:.2f} s (baseline {bases[-1]:.2f} s)")
    median, baseline = statistics.median(times), statistics.median(bases)
    per_s = events / median
    return figure(median, "sqlcipher_read_sha256", baseline, per_s=per_s, baseline_per_s=events / baseline,
                  target=f">= {VERIFY_HASH_TARGET_PER_S:,.0f} events/s", met=per_s >= VERIFY_HASH_TARGET_PER_S)


def load_signatures(raw: Any) -> list[tuple[ed25519.Ed25519PublicKey, bytes, bytes]]:
    """Every event's (public key of its actor, signature, hash), as verify checks them."""
    keys = {uid: ed25519.Ed25519PublicKey.from_public_bytes(bytes(pub))
            for uid, pub in raw.execute("SELECT id, sign_public FROM users")}
    return [(keys[actor_id], bytes(signature), bytes(digest))
            for actor_id, signature, digest in raw.execute("SELECT actor_id, signature, hash FROM audit_events "
                                                           "ORDER BY seq")]


def bench_verify_signed(session: Session, raw: Any, scale: Scale, events: int, progress: Progress) -> Figure:
    pairs = load_signatures(raw)
    expect("ed25519_verify_bare", len(pairs), events)

    def api() -> None:
        result = session.audit_verify()
        if not result.ok:
            raise RuntimeError(result.sentence())
        expect("audit_verify", result.events, events)

    def base() -> None:
        for key, signature, digest in pairs:
            key.verify(signature, digest)

    times, bases = [], []
    for run in range(1, scale.runs + 1):
        times.append(timed(api))
        bases.append(timed(base))
        progress(f"audit_verify_signed run {run}/{scale.runs}: {times[-1]:.2f} s (baseline {bases[-1]:.2f} s)")
    median, baseline = statistics.median(times), statistics.median(bases)
    per_s = events / median
    return figure(median, "ed25519_verify_bare", baseline, per_s=per_s, baseline_per_s=events / baseline,
                  target=f">= {VERIFY_SIGNED_TARGET_PER_S:,.0f} events/s", met=per_s >= VERIFY_SIGNED_TARGET_PER_S)


def bench_export(session: Session, raw: Any, workdir: Path, scale: Scale, events: int,
                 progress: Progress) -> Figure:
    final = audit.checkpoint(session.engine, session.vault_id, session.vault.clock)

    def fresh(name: str) -> Path:
        """A new output file's path: the previous run's file is removed outside the timed region."""
        path = workdir / name
        path.unlink(missing_ok=True)
        return path

    def api(fmt: str) -> float:
        path = fresh(f"export.{fmt}")

        def export() -> None:
            with path.open("w", encoding="utf-8", newline="") as out:
                written, _final = audit_log.export(session.engine, out, fmt, audit_log.ExportFilter(), final)
                expect(f"export {fmt}", written, events)
        return timed(export)

    def base() -> float:
        path = fresh("baseline.tsv")
        return timed(lambda: expect("sqlcipher_read_write", raw_read_write(raw, path), events))

    jsonl, csv_, bases = [], [], []
    for run in range(1, scale.read_runs + 1):
        jsonl.append(api("jsonl"))
        csv_.append(api("csv"))
        bases.append(base())
        progress(f"audit_export run {run}/{scale.read_runs}: jsonl {jsonl[-1]:.2f} s, csv {csv_[-1]:.2f} s "
                 f"(baseline {bases[-1]:.2f} s)")
    for name in ("export.jsonl", "export.csv", "baseline.tsv"):
        fresh(name)
    median, baseline = statistics.median(jsonl), statistics.median(bases)
    return figure(median, "sqlcipher_read_write", baseline, per_s=events / median,
                  target=f"<= {EXPORT_TARGET_RATIO}x baseline", met=median / baseline <= EXPORT_TARGET_RATIO,
                  csv_median_s=statistics.median(csv_), csv_ratio=statistics.median(csv_) / baseline)


def bench_verify_export(session: Session, workdir: Path, scale: Scale, events: int, signed_db_s: float,
                        progress: Progress) -> Figure:
    """Verify an export file as an outside auditor would, beside hash-only verify of the same log.

    The export itself is an event (``audit.exported``), so it is made last, after every other
    figure that reads this log, and the log then holds ``events + 1`` events."""
    path = workdir / "verify-export.jsonl"
    with path.open("w", encoding="utf-8", newline="") as out:
        written, _final = session.audit_export(out, "jsonl")
    expect("export for verify-export", written, events + 1)

    def api() -> None:
        result = export_verify.verify_file(path)
        if not result.ok:
            raise RuntimeError(result.sentence())
        expect("verify-export", result.events, events + 1)

    def base() -> None:
        result = audit.verify(session.engine, session.vault_id, signatures=False)
        expect("verify (hash only)", result.events, events + 1)

    times, bases = [], []
    for run in range(1, scale.runs + 1):
        times.append(timed(api))
        bases.append(timed(base))
        progress(f"audit_verify_export run {run}/{scale.runs}: {times[-1]:.2f} s (hash-only verify "
                 f"{bases[-1]:.2f} s)")
    size_mb = path.stat().st_size / 1e6
    path.unlink()
    median, baseline = statistics.median(times), statistics.median(bases)
    return figure(median, "audit_verify_hash", baseline, per_s=(events + 1) / median, signed_db_median_s=signed_db_s,
                  file_mb=size_mb)


# --- records: create, view, list ----------------------------------------------------------------


def records_vault(workdir: Path) -> Callable[[], Session]:
    """A vault whose admin also writes records (staff), with the reader ``sam``; returns its unlock.

    Each call of the returned function is a fresh session (no content key cached). The
    directory of people is read at unlock, so sessions opened after ``add_user`` know the reader.
    """
    directory = workdir / "records-vault"
    password = throwaway_password()
    vault, _code = Vault.init(directory, ADMIN, password, roles=("staff",), argon2=CHEAP_ARGON2)
    with vault.unlock(ADMIN, password) as session:
        session.add_user(READER, ["safeguarding_officer"])
    return partial(vault.unlock, ADMIN, password)


def sealed_readers(raw: Any, record_id: int) -> int:
    """How many copies of a record's key are sealed (readers and the recovery key)."""
    return int(raw.execute("SELECT count(*) FROM grants WHERE record_id = ? AND sealed IS NOT NULL",
                           (record_id,)).fetchone()[0])


def record_row(raw: Any, record_id: int) -> tuple[Any, ...]:
    return tuple(raw.execute(f"SELECT {RECORD_COLUMNS} FROM records WHERE id = ?", (record_id,)).fetchone())


def event_row(raw: Any, action: str) -> tuple[Any, ...]:
    """The newest event of ``action``: an audit row of the real size."""
    return tuple(raw.execute(f"SELECT {AUDIT_COLUMNS} FROM audit_events WHERE action = ? ORDER BY seq DESC "
                             "LIMIT 1", (action,)).fetchone())


def bench_create(unlock: Callable[[], Session], scratch: Any, scale: Scale, progress: Progress) -> Figure:
    session = unlock()
    try:
        with raw_connection(session.vault.db_path, session.secrets.db_key) as vault_raw:
            def create() -> str:  # sealed to the author, the reader and the recovery key, one commit
                return session.create_record(RECORD, share_with=[(READER, SHARE_REASON)])

            def create_alone() -> str:  # sealed to the author and the recovery key
                return session.create_record(RECORD)

            def create_then_share() -> str:  # sealed to the same three, in two transactions
                ref = create_alone()
                session.share_record(ref, READER, SHARE_REASON)
                return ref

            for _ in range(10):  # warm up (statement caches, first pages, WAL)
                create()
                create_alone()
                create_then_share()
            alone = sealed_readers(vault_raw, records.record_id_for(session, create_alone()))
            then_share = sealed_readers(vault_raw, records.record_id_for(session, create_then_share()))
            last = records.record_id_for(session, create())
            readers = sealed_readers(vault_raw, last)
            # The baseline's inputs, all from the real thing: the record's plaintext (as
            # _seal_body makes it), its row and its record.created event.
            row = record_row(vault_raw, last)
            plain = crypto.aead_decrypt(session.content_keys[(last, 1)], bytes(row[-1]),
                                        envelopes.aad("record", last, last, 1))
            created = event_row(vault_raw, "record.created")
        suite, signer = session.directory.hpke_suite, signer_of(session)
        publics = (session.directory.person(session.user_id).hpke_public,
                   session.directory.by_name(READER).hpke_public, session.directory.recovery_public)
        digest = crypto.sha256(plain)

        def bare(i: int) -> None:
            key = crypto.random_bytes(crypto.KEY_SIZE)
            info = envelopes.grant_info(session.vault_id, i, 1)
            for public in publics:
                crypto.hpke_seal(suite, public, key, info)
            signer.sign(digest)  # the content's signature
            blob = crypto.aead_encrypt(key, plain, envelopes.aad("record", i, i, 1))
            signature = signer.sign(digest)  # the event's
            scratch.execute("BEGIN IMMEDIATE")
            scratch.execute(INSERT_SCRATCH_RECORD, (None, *row[1:-1], blob))
            scratch.execute(INSERT_SCRATCH_EVENT, (None, *created[1:-1], signature))
            scratch.execute("COMMIT")

        for i in range(10):
            bare(i)
        progress(f"record_create: {scale.creates} creates with a reader, creates alone, creates then shares "
                 "and baselines, alternating")
        times, alones, shares, bases = [], [], [], []
        for i in range(scale.creates):
            times.append(timed(create))
            alones.append(timed(create_alone))
            shares.append(timed(create_then_share))
            bases.append(timed(partial(bare, i)))
    finally:
        session.lock()
    median, base = statistics.median(times), statistics.median(bases)
    alone_median, with_share = statistics.median(alones), statistics.median(shares)
    out = figure(median, "primitives_plus_raw_insert", base,
                 target=f"<= {RECORD_CREATE_TARGET_S * 1e3:g} ms p50 sealed to {readers}, one commit",
                 met=median <= RECORD_CREATE_TARGET_S, alone_median_s=alone_median, alone_ratio=alone_median / base,
                 with_share_median_s=with_share, with_share_ratio=with_share / base)
    out["readers"], out["alone_readers"], out["with_share_readers"] = readers, alone, then_share
    return out


def bench_view(unlock: Callable[[], Session], scratch: Any, scale: Scale, progress: Progress) -> Figure:
    progress(f"record_view: writing {scale.views + 1} records, each shared and with {ADDENDA} addenda")
    with unlock() as writer:
        refs = []
        for _ in range(scale.views + 1):
            ref = writer.create_record(RECORD)
            writer.share_record(ref, READER, SHARE_REASON)
            for _ in range(ADDENDA):
                writer.add_addendum(ref, ADDENDUM)
            refs.append(ref)
    session = unlock()  # a fresh session: no content key cached
    try:
        first = session.view_record(refs[0])  # compiles the statements; not timed
        if len(first.addenda) != ADDENDA or not first.signed or not all(a.signed for a in first.addenda):
            raise RuntimeError("the viewed record is not what was written")
        record_id = records.record_id_for(session, refs[0])
        # The baseline's inputs, from the record just viewed: its sealed key, its three
        # ciphertexts, their signatures, and a record.viewed event row.
        with raw_connection(session.vault.db_path, session.secrets.db_key) as vault_raw:
            suite, sealed = vault_raw.execute("SELECT hpke_suite, sealed FROM grants WHERE record_id = ? AND "
                                              "user_id = ?", (record_id, session.user_id)).fetchone()
            items = [("record", record_id, bytes(record_row(vault_raw, record_id)[-1]))]
            items += [("addendum", item_id, bytes(blob)) for item_id, blob in vault_raw.execute(
                "SELECT id, content FROM addenda WHERE record_id = ? ORDER BY id", (record_id,))]
            viewed = event_row(vault_raw, "record.viewed")
        private, info = session.secrets.hpke_private, envelopes.grant_info(session.vault_id, record_id, 1)
        key = crypto.hpke_open(suite, private, bytes(sealed), info)
        aads = [envelopes.aad(kind, record_id, item_id, 1) for kind, item_id, _blob in items]
        blobs = [blob for _kind, _item_id, blob in items]
        checks = []
        for blob, aad in zip(blobs, aads, strict=True):
            outer = json.loads(crypto.aead_decrypt(key, blob, aad))
            signed = envelopes.SIGNED_LABEL + outer["inner"].encode()
            checks.append((bytes.fromhex(outer["sig"]), crypto.sha256(signed)))
        verifier = crypto.Verifier(session.directory.person(session.user_id).sign_public)
        signer = signer_of(session)
        rows = int(scratch.execute("SELECT max(id) FROM scratch_records").fetchone()[0])

        def bare(i: int) -> None:
            opened = crypto.hpke_open(suite, private, bytes(sealed), info)
            for blob, aad in zip(blobs, aads, strict=True):
                crypto.aead_decrypt(opened, blob, aad)
            for signature, digest in checks:
                verifier.verify(signature, digest)
            signature = signer.sign(viewed[-2])
            scratch.execute("BEGIN IMMEDIATE")
            scratch.execute(SELECT_SCRATCH_RECORD, (i % rows + 1,)).fetchone()
            scratch.execute(INSERT_SCRATCH_EVENT, (None, *viewed[1:-1], signature))
            scratch.execute("COMMIT")

        for i in range(10):
            bare(i)
        progress(f"record_view: {scale.views} cold views (alternating with the baseline), then as many warm")
        cold, bases = [], []
        for i, ref in enumerate(refs[1:]):
            cold.append(timed(partial(session.view_record, ref)))
            bases.append(timed(partial(bare, i)))
        warm = [timed(partial(session.view_record, ref)) for ref in refs[1:]]
    finally:
        session.lock()
    median, base = statistics.median(cold), statistics.median(bases)
    return figure(median, "primitives_plus_raw_lookup", base,
                  target=f"<= {RECORD_VIEW_TARGET_S * 1e3:g} ms p50 (cold)", met=median <= RECORD_VIEW_TARGET_S,
                  warm_median_s=statistics.median(warm), warm_ratio=statistics.median(warm) / base)


def varied_record(i: int) -> dict[str, Any]:
    """The i-th record of the list vault: categories, urgencies and protection vary."""
    return {**RECORD, "category": record_schema.CATEGORIES[i % len(record_schema.CATEGORIES)],
            "urgency": record_schema.URGENCIES[i // 7 % len(record_schema.URGENCIES)], "protected": i % 13 == 0,
            "own_words": f"{RECORD['own_words']} (#{i})"}


def build_records(session: Session, count: int, progress: Progress, label: str = "list_page_100k") -> None:
    """``count`` records readable by the session's user, written in transactions of RECORD_BATCH.

    Each is what ``create`` writes: a records row with the content encrypted and signed under
    its own key (unsigned for the one draft in 25), the key sealed to the author and the
    recovery key (and to the reader for one submitted record in 4), in grant rows of the shape
    ``_insert_grants`` writes (built here so that a batch's grants are one ``executemany``),
    and the signed events the vault reads its facts from (``record.created``, and
    ``record.shared`` for the reader). Created one every ten minutes, the newest now.
    """
    me, reader = session.directory.person(session.user_id), session.directory.by_name(READER)
    suite, recovery = session.directory.hpke_suite, session.directory.recovery_public

    def grant(record_id: int, key: bytes, user_id: int | None, public: bytes, reason: str, now: str) -> Figure:
        return {"record_id": record_id, "user_id": user_id, "hpke_suite": suite, "key_version": 1,
                "sealed": envelopes.seal_to(session, public, record_id, 1, key), "granted_by": session.user_id,
                "granted_at": now, "reason": reason}

    start = session.vault.clock() - count * 600
    counters: dict[int, int] = {}
    progress(f"{label}: building {count:,} records in batches of {RECORD_BATCH:,}")
    for first in range(0, count, RECORD_BATCH):
        with session.write() as conn:
            rows, grants, events = [], [], []
            for i in range(first, min(first + RECORD_BATCH, count)):
                record_id, draft = i + 1, i % 25 == 0
                content = record_schema.validate(varied_record(i))
                key = crypto.random_bytes(crypto.KEY_SIZE)
                now = audit.iso(start + i * 600)
                year = int(now[:4])
                counters[year] = counters.get(year, 0) + 1
                rows.append({
                    "id": record_id, "reference": f"IV-{year}-{counters[year]:04d}", "author_id": session.user_id,
                    "status": "draft" if draft else "submitted", "category": content["category"],
                    "urgency": content["urgency"], "protected": content["protected"], "created_at": now,
                    "updated_at": now, "submitted_at": None if draft else now, "referred_at": None,
                    "key_version": 1, "content": envelopes.seal_body(session, key, "record", record_id, record_id, 1,
                                                                    content, sign=not draft)})
                grants.append(grant(record_id, key, me.user_id, me.hpke_public, "author", now))
                reference = rows[-1]["reference"]
                events.append(records.created_event(record_id, reference, content, draft=draft))
                if not draft and i % 4 == 1:
                    grants.append(grant(record_id, key, reader.user_id, reader.hpke_public, SHARE_REASON, now))
                    events.append(audit.Event("record.shared", record_id=record_id, object=reference, properties={
                        "reference": reference, "to": reader.user_id, "to_username": reader.username,
                        "reason": SHARE_REASON}))
                grants.append(grant(record_id, key, None, recovery, "recovery", now))
            conn.execute(insert(Record), rows)
            conn.execute(insert(Grant), grants)
            session.append(conn, events)
            if first + RECORD_BATCH >= count:
                conn.execute(insert(RecordCounter), [{"year": y, "last": n} for y, n in sorted(counters.items())])
        done = min(first + RECORD_BATCH, count)
        if done % 20_000 == 0 or done == count:
            progress(f"  {done:,} / {count:,} records")


READABLE_SQL = ("SELECT r.id, r.key_version, r.content, g.hpke_suite, g.sealed FROM records r JOIN grants g "
                "ON g.record_id = r.id WHERE g.user_id = ? AND g.revoked_at IS NULL AND g.sealed IS NOT NULL "
                "ORDER BY r.id DESC")


def bare_search(raw: Any, session: Session, keys: dict[int, bytes], needle: str) -> int:
    """The least a search must do: read the readable rows, open each key (unless in ``keys``),
    decrypt, check the signature and look for ``needle`` in each text field; the number found."""
    private, verifiers, found = session.secrets.hpke_private, {}, 0
    raw.execute("BEGIN")
    for record_id, version, content, suite, sealed in raw.execute(READABLE_SQL, (session.user_id,)):
        key = keys.get(record_id)
        if key is None:
            key = keys[record_id] = crypto.hpke_open(suite, private, bytes(sealed),
                                                     envelopes.grant_info(session.vault_id, record_id, version))
        outer = json.loads(crypto.aead_decrypt(key, bytes(content), envelopes.aad("record", record_id, record_id,
                                                                                  version)))
        inner = json.loads(outer["inner"])
        if outer["sig"] is not None:
            author = int(inner["author_id"])
            if author not in verifiers:
                verifiers[author] = crypto.Verifier(session.directory.person(author).sign_public)
            digest = crypto.sha256(envelopes.SIGNED_LABEL + outer["inner"].encode())
            if not verifiers[author].verify(bytes.fromhex(outer["sig"]), digest):
                raise RuntimeError("a signature in the search vault does not verify")
        found += any(needle in " ".join(text.split()).casefold()
                     for text in inner["body"].values() if isinstance(text, str))
    raw.execute("COMMIT")
    return found


def bench_search(workdir: Path, scale: Scale, progress: Progress) -> dict[str, Figure]:
    directory = workdir / "search-vault"
    password = throwaway_password()
    vault, _code = Vault.init(directory, ADMIN, password, roles=("staff",), argon2=CHEAP_ARGON2)
    with vault.unlock(ADMIN, password) as admin:
        admin.add_user(READER, ["safeguarding_officer"])
    with vault.unlock(ADMIN, password) as builder:
        build_records(builder, scale.search_records, progress, label="search_10k")
    needle = f"(#{scale.search_records // 2})"  # in the own words of one record, and of no other

    def api(session: Session) -> None:
        expect("search_records", len(list(session.search_records(needle))), 1)

    def base(raw: Any, session: Session, keys: dict[int, bytes]) -> None:
        expect("bare_search", bare_search(raw, session, keys, needle), 1)

    cold, warm, cold_bases, warm_bases = [], [], [], []
    progress(f"search_10k: {scale.search_runs} x (a fresh session's search, the same again, and the two "
             f"baselines) over {scale.search_records:,} records")
    for run_number in range(scale.search_runs):
        session = vault.unlock(ADMIN, password)
        try:
            with raw_connection(vault.db_path, session.secrets.db_key) as raw:
                keys: dict[int, bytes] = {}
                cold.append(timed(partial(api, session)))
                cold_bases.append(timed(partial(base, raw, session, keys)))
                warm.append(timed(partial(api, session)))
                warm_bases.append(timed(partial(base, raw, session, keys)))
        finally:
            session.lock()
        progress(f"search_10k run {run_number + 1}/{scale.search_runs}: cold {cold[-1]:.2f} s "
                 f"(baseline {cold_bases[-1]:.2f} s), warm {warm[-1]:.2f} s (baseline {warm_bases[-1]:.2f} s)")
    out = {}
    for name, api_runs, base_runs, base_name in (
            ("search_10k_cold", cold, cold_bases, "primitives_plus_raw_read"),
            ("search_10k_warm", warm, warm_bases, "primitives_plus_raw_read_keys_cached")):
        median = statistics.median(api_runs)
        out[name] = figure(median, base_name, statistics.median(base_runs),
                           per_s=scale.search_records / median)
        out[name]["records"], out[name]["runs"] = scale.search_records, scale.search_runs
    return out


class PageQueries:
    """While listening on an engine, catches the page statement (a SELECT with a LIMIT) each API
    call sends to the driver, so that a raw baseline runs the very same SQL and parameters."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.caught: list[tuple[str, Any]] = []

    def __enter__(self) -> PageQueries:
        event.listen(self.engine, "before_cursor_execute", self._catch)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._catch)

    def _catch(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _executemany: bool) -> None:
        if PAGE_QUERY.match(statement):
            self.caught.append((statement, parameters))

    def sent_by(self, call: Callable[[], object], what: str) -> tuple[str, Any]:
        """Run ``call``; the one page statement it sent (refused if it sent more or none)."""
        self.caught.clear()
        call()
        if len(self.caught) != 1:
            raise RuntimeError(f"{what} sent {len(self.caught)} page queries; the baseline expects one")
        return self.caught[0]


def raw_page(raw: Any, sent: tuple[str, Any]) -> int:
    """Run a caught page statement in a read transaction (as session.read() opens); its rows."""
    raw.execute("BEGIN")
    rows = len(raw.execute(*sent).fetchall())
    raw.execute("COMMIT")
    return rows


def bench_list(workdir: Path, scale: Scale, progress: Progress) -> Figure:
    directory = workdir / "list-vault"
    password = throwaway_password()
    vault, _code = Vault.init(directory, ADMIN, password, roles=("staff",), argon2=CHEAP_ARGON2)
    with vault.unlock(ADMIN, password) as admin:
        admin.add_user(READER, ["safeguarding_officer"])
    session = vault.unlock(ADMIN, password)
    deep = min(DEEP_OFFSET, scale.records - LIST_PAGE)
    # The baseline runs the very page statement (and parameters) the API sent to the driver, caught
    # on its way there: its one SELECT with a LIMIT (other statements, such as the directory's
    # freshness check, are the API's own cost). Neither side is warmed up apart (a slow plan makes each run count at the
    # quick scale): the file is in the OS cache after the build, and a first run's compiling
    # and cold pages are one of at least MIN_LIST_RUNS runs under a median.
    sent: dict[int, tuple[str, Any]] = {}

    def api(offset: int) -> None:
        def page() -> None:
            expect(f"list_records(offset={offset})", len(session.list_records(limit=LIST_PAGE, offset=offset)),
                   LIST_PAGE)

        sent[offset] = pages_sent.sent_by(page, "list_records")

    pages: list[float] = []
    deeps: list[float] = []
    bases: list[float] = []
    deep_bases: list[float] = []
    try:
        build_records(session, scale.records, progress)
        with PageQueries(session.engine) as pages_sent, \
                raw_connection(vault.db_path, session.secrets.db_key) as raw:
            def base(offset: int) -> None:
                expect("raw_page_query", raw_page(raw, sent[offset]), LIST_PAGE)

            progress(f"list_page_100k: up to {scale.list_runs} x first page and offset {deep:,}, API and raw, "
                     f"alternating (for {scale.list_budget_s:g} s at most after {MIN_LIST_RUNS})")
            started = time.perf_counter()
            while len(pages) < scale.list_runs and (len(pages) < MIN_LIST_RUNS or
                                                     time.perf_counter() - started < scale.list_budget_s):
                pages.append(timed(partial(api, 0)))
                bases.append(timed(partial(base, 0)))
                deeps.append(timed(partial(api, deep)))
                deep_bases.append(timed(partial(base, deep)))
            progress(f"list_page_100k: {len(pages)} runs, first page {statistics.median(pages):.4f} s "
                     f"(baseline {statistics.median(bases):.4f} s)")
    finally:
        session.lock()
    median, baseline = statistics.median(pages), statistics.median(bases)
    deep_median, deep_base = statistics.median(deeps), statistics.median(deep_bases)
    out = figure(median, "raw_page_query", baseline, target=f"<= {LIST_PAGE_TARGET_S * 1e3:g} ms p50",
                 met=median <= LIST_PAGE_TARGET_S, deep_offset_median_s=deep_median,
                 deep_offset_baseline_s=deep_base, deep_offset_ratio=deep_median / deep_base)
    out["records"], out["page"], out["deep_offset"], out["runs"] = scale.records, LIST_PAGE, deep, len(pages)
    return out


def bench_records(workdir: Path, scale: Scale, progress: Progress) -> dict[str, Figure]:
    unlock = records_vault(workdir)
    with raw_connection(workdir / "scratch.db", crypto.random_bytes(crypto.KEY_SIZE)) as scratch:
        for statement in SCRATCH_DDL:
            scratch.execute(statement)
        create = bench_create(unlock, scratch, scale, progress)
        view = bench_view(unlock, scratch, scale, progress)
    return {"record_create": create, "record_view": view, "list_page_100k": bench_list(workdir, scale, progress)}

# --- the whole check ------------------------------------------------------------------------------


def bench_check(workdir: Path, scale: Scale, progress: Progress) -> Figure:
    directory = workdir / "check-vault"
    password = throwaway_password()
    vault, _code = Vault.init(directory, ADMIN, password, roles=("staff",), argon2=CHEAP_ARGON2)
    with vault.unlock(ADMIN, password) as admin:
        admin.add_user(READER, ["safeguarding_officer"])
    with vault.unlock(ADMIN, password) as builder:
        build_records(builder, scale.records, progress, label="check_100k")
    session = vault.unlock(ADMIN, password)
    api: list[float] = []
    base: list[float] = []
    phases: dict[str, list[float]] = {name: [] for name in check.PHASES}

    def whole() -> None:
        ends: list[tuple[int, float]] = []
        start = time.perf_counter()
        result = session.check(progress=lambda done, _total: ends.append((done, time.perf_counter())))
        if not result.ok:
            raise RuntimeError("the check vault does not pass the check")
        # The progress reports come as each database phase ends (1, 2 and 3 times the pages), then the
        # log's; the facts phase (the tables against the log) reports none, and ends with the call.
        finished = time.perf_counter()
        reached = [next(t for done, t in ends if done >= n * result.pages) for n in (1, 2, 3)] + [ends[-1][1],
                                                                                                  finished]
        for name, begin, end in zip(check.PHASES, [start, *reached[:-1]], reached, strict=True):
            phases[name].append(end - begin)

    def raw_page_check(raw: Any) -> None:
        expect("cipher_integrity_check rows", len(raw.execute("PRAGMA cipher_integrity_check").fetchall()), 0)

    try:
        with raw_connection(vault.db_path, session.secrets.db_key) as raw:
            pages = vault.db_path.stat().st_size // db.PAGE_SIZE
            progress(f"check_100k: {scale.check_runs} x the whole check and the raw page check, alternating, on "
                     f"{scale.records:,} records ({pages:,} pages)")
            for _ in range(scale.check_runs):
                api.append(timed(whole))
                base.append(timed(partial(raw_page_check, raw)))
    finally:
        session.lock()
    median, baseline = statistics.median(api), statistics.median(base)
    progress(f"check_100k: {median:.3f} s (raw page check {baseline:.3f} s)")
    out = figure(median, "raw_cipher_integrity_check", baseline)
    out |= {f"{name}_s": sig(statistics.median(times)) for name, times in phases.items()}
    out["records"], out["pages"], out["runs"] = scale.records, pages, scale.check_runs
    return out


# --- cases and the auditor's page ------------------------------------------------------------------


def cases_vault(workdir: Path) -> tuple[Callable[[], Session], Callable[[], Session]]:
    """A vault with a writer (the admin, also staff) and an officer (``sam``); their unlocks."""
    directory = workdir / "cases-vault"
    password, officer_password = throwaway_password(), throwaway_password()
    vault, _code = Vault.init(directory, ADMIN, password, roles=("staff",), argon2=CHEAP_ARGON2)
    with vault.unlock(ADMIN, password) as admin:
        one_time = admin.add_user(READER, ["safeguarding_officer"])
    with vault.unlock(READER, one_time) as officer:
        officer.change_password(one_time, officer_password)
    return partial(vault.unlock, ADMIN, password), partial(vault.unlock, READER, officer_password)


def referred_records(writer: Session, count: int, addenda: int = 0) -> list[str]:
    refs = []
    for _ in range(count):
        ref = writer.create_record(RECORD)
        for _ in range(addenda):
            writer.add_addendum(ref, ADDENDUM)
        writer.refer_record(ref)
        refs.append(ref)
    return refs


def bench_case_open(writer_unlock: Callable[[], Session], officer_unlock: Callable[[], Session], scratch: Any,
                    scale: Scale, progress: Progress) -> Figure:
    progress(f"case_open_20: writing and referring {(scale.case_runs + 1) * CASE_RECORDS} records")
    with writer_unlock() as writer:
        groups = [referred_records(writer, CASE_RECORDS) for _ in range(scale.case_runs + 1)]
    officer = officer_unlock()
    try:
        officer.open_case(groups[0])  # compiles the statements; not timed
        team = [officer.directory.person(officer.user_id).hpke_public, officer.directory.recovery_public]
        suite, signer = officer.directory.hpke_suite, signer_of(officer)
        opened = event_row(raw_connect(officer.vault.db_path, officer.secrets.db_key), "case.opened")
        scratch.execute("CREATE TABLE IF NOT EXISTS scratch_links (a INTEGER, b INTEGER, c INTEGER, d TEXT)")

        def bare(i: int) -> None:
            key = crypto.random_bytes(crypto.KEY_SIZE)
            for public in team:
                crypto.hpke_seal(suite, public, key, b"incident-vault/case-grant/v1|bench")
            signature = signer.sign(opened[-2])
            scratch.execute("BEGIN IMMEDIATE")
            scratch.executemany("INSERT INTO scratch_links VALUES (?, ?, ?, ?)",
                                [(i, r, 1, opened[1]) for r in range(CASE_RECORDS + 1 + len(team))])
            scratch.execute(INSERT_SCRATCH_EVENT, (None, *opened[1:-1], signature))
            scratch.execute("COMMIT")

        progress(f"case_open_20: {scale.case_runs} cases of {CASE_RECORDS} records, alternating with the baseline")
        times, bases = [], []
        for i, refs in enumerate(groups[1:]):
            times.append(timed(partial(officer.open_case, refs)))
            bases.append(timed(partial(bare, i)))
    finally:
        officer.lock()
    median = statistics.median(times)
    return figure(median, "primitives_plus_raw_insert", statistics.median(bases), records=CASE_RECORDS)


def chronology_baseline(raw: Any, session: Session, ids: list[int]) -> Callable[[], None]:
    """The least a chronology must do, as a function: read the records' addenda (raw), open each
    record's key (HPKE), decrypt every item and check its signature (the inputs read beforehand)."""
    items = []
    for rid in ids:
        items.append((rid, "record", rid, bytes(raw.execute("SELECT content FROM records WHERE id = ?",
                                                            (rid,)).fetchone()[0])))
        items += [(rid, "addendum", a, bytes(c)) for a, c in raw.execute(
            "SELECT id, content FROM addenda WHERE record_id = ? ORDER BY id", (rid,))]
    sealed = {rid: bytes(s) for rid, s in raw.execute(
        f"SELECT record_id, sealed FROM grants WHERE user_id = ? AND record_id IN ({','.join('?' * len(ids))}) "
        "AND sealed IS NOT NULL", (session.user_id, *ids))}
    verifier = crypto.Verifier(session.directory.person(1).sign_public)
    suite, private = session.directory.hpke_suite, session.secrets.hpke_private

    def bare() -> None:
        raw.execute("BEGIN")
        for rid in ids:
            raw.execute("SELECT id, content FROM addenda WHERE record_id = ?", (rid,)).fetchall()
        raw.execute("COMMIT")
        keys = {rid: crypto.hpke_open(suite, private, sealed[rid], envelopes.grant_info(session.vault_id, rid, 1))
                for rid in ids}
        for rid, kind, item_id, blob in items:
            outer = json.loads(crypto.aead_decrypt(keys[rid], blob, envelopes.aad(kind, rid, item_id, 1)))
            json.loads(outer["inner"])
            verifier.verify(bytes.fromhex(outer["sig"]),
                            crypto.sha256(envelopes.SIGNED_LABEL + outer["inner"].encode()))

    return bare


def bench_chronology(writer_unlock: Callable[[], Session], officer_unlock: Callable[[], Session],
                     scale: Scale, progress: Progress) -> Figure:
    from vault.case_text import render_case

    entries = CASE_RECORDS * (1 + CHRONOLOGY_ADDENDA)
    progress(f"chronology_500: a case of {CASE_RECORDS} records with {CHRONOLOGY_ADDENDA} addenda each")
    with writer_unlock() as writer:
        refs = referred_records(writer, CASE_RECORDS, CHRONOLOGY_ADDENDA)
    with officer_unlock() as officer:
        case = officer.open_case(refs)
        ids = [records.record_id_for(officer, ref) for ref in refs]

    def show(session: Session) -> None:
        view = session.show_case(case)
        expect("chronology entries", len(view.chronology), entries)
        render_case(view)

    cold, warm, bases = [], [], []
    for run_number in range(scale.case_runs):
        session = officer_unlock()
        try:
            if run_number == 0:
                show(session)  # compiles the statements; not timed
                session.content_keys.clear()
            with raw_connection(session.vault.db_path, session.secrets.db_key) as raw:
                bare = chronology_baseline(raw, session, ids)
                cold.append(timed(partial(show, session)))
                bases.append(timed(bare))
                warm.append(timed(partial(show, session)))
        finally:
            session.lock()
        progress(f"chronology_500 run {run_number + 1}/{scale.case_runs}: cold {cold[-1] * 1e3:.1f} ms "
                 f"(baseline {bases[-1] * 1e3:.1f} ms), warm {warm[-1] * 1e3:.1f} ms")
    median = statistics.median(cold)
    return figure(median, "primitives_plus_raw_read", statistics.median(bases),
                  target=f"<= {CHRONOLOGY_TARGET_S * 1e3:g} ms p50", met=median <= CHRONOLOGY_TARGET_S,
                  warm_median_s=statistics.median(warm), entries=entries)


def bench_cases(workdir: Path, scale: Scale, progress: Progress) -> dict[str, Figure]:
    writer, officer = cases_vault(workdir)
    with raw_connection(workdir / "cases-scratch.db", crypto.random_bytes(crypto.KEY_SIZE)) as scratch:
        for statement in SCRATCH_DDL:
            scratch.execute(statement)
        case_open = bench_case_open(writer, officer, scratch, scale, progress)
    return {"case_open_20": case_open, "chronology_500": bench_chronology(writer, officer, scale, progress)}


def bench_audit_page(session: Session, raw: Any, scale: Scale, events: int, progress: Progress) -> Figure:
    """The auditor's page of 200 at the end of the big log: the newest page, the page in the
    middle (``before``), and the newest page of a rare action (one ``unlock`` in the log)."""
    sent: dict[str, tuple[str, Any]] = {}

    variants: dict[str, dict[str, Any]] = {"newest": {}, "middle": {"before": events // 2},
                                           "rare_action": {"action": "unlock"}}

    def api(name: str) -> None:
        def page() -> None:
            got = len(session.audit_page(limit=LIST_PAGE, **variants[name]))
            if not got or (name != "rare_action" and got != LIST_PAGE):
                raise RuntimeError(f"audit_page({name}) returned {got} events")

        sent[name] = pages_sent.sent_by(page, "audit_page")

    def base(name: str) -> None:
        raw_page(raw, sent[name])

    with PageQueries(session.engine) as pages_sent:
        times: dict[str, list[float]] = {name: [] for name in variants}
        bases: dict[str, list[float]] = {name: [] for name in variants}
        progress(f"audit_page_1m: {scale.list_runs} x three pages of {LIST_PAGE}, API and raw, alternating")
        for _ in range(scale.list_runs):
            for name in variants:
                times[name].append(timed(partial(api, name)))
                bases[name].append(timed(partial(base, name)))
    median = statistics.median(times["newest"])
    extra = {f"{name}_median_s": statistics.median(times[name]) for name in ("middle", "rare_action")}
    extra |= {f"{name}_baseline_s": statistics.median(bases[name]) for name in ("middle", "rare_action")}
    out = figure(median, "raw_page_query", statistics.median(bases["newest"]),
                 target=f"<= {AUDIT_PAGE_TARGET_S * 1e3:g} ms p50", met=max(
                     median, *(statistics.median(times[n]) for n in ("middle", "rare_action"))) <= AUDIT_PAGE_TARGET_S,
                 **extra)
    out["events"] = events
    return out

# --- the run ------------------------------------------------------------------------------------


GUIDANCE_SETS = ("guidance_labelled.toml", "guidance_labelled_b.toml")
GUIDANCE_WORDS = 5_000


def guidance_text() -> str:
    """About GUIDANCE_WORDS words of the development sets' sentences, in paragraphs of six."""
    sentences = []
    for name in GUIDANCE_SETS:
        with (ROOT / "tests" / "vault" / name).open("rb") as f:
            sentences += [str(case["text"]) for case in tomllib.load(f)["case"]]
    rng = random.Random(5000)
    picked: list[str] = []
    words = 0
    while words < GUIDANCE_WORDS:
        sentence = rng.choice(sentences)
        picked.append(sentence)
        words += len(sentence.split())
    return "\n\n".join(" ".join(picked[i:i + 6]) for i in range(0, len(picked), 6))


def bench_guidance(scale: Scale, progress: Progress) -> Figure:
    text = guidance_text()
    first = timed(lambda: guidance.review(text))
    api, base = [], []
    for _ in range(scale.guidance_runs):
        api.append(timed(lambda: guidance.review(text)))
        base.append(timed(lambda: re.findall(r"\w+", text)))
    median = statistics.median(api)
    progress(f"guidance_review: {median * 1e3:.2f} ms for {len(text.split()):,} words "
             f"({len(guidance.review(text))} findings)")
    return figure(median, "regex_words", statistics.median(base), target="p50 <= 10 ms", met=median <= 0.010,
                  first_call_s=first, words=len(text.split()), findings=len(guidance.review(text)))


def git_commit() -> str | None:
    """The checked-out commit (with ``+dirty`` for local changes), or None outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def meta(scale: Scale, events: int) -> dict[str, Any]:
    probe = sqlcipher3.connect(":memory:")
    try:
        cipher = probe.execute("PRAGMA cipher_version").fetchone()[0]
        sqlite = probe.execute("SELECT sqlite_version()").fetchone()[0]
    finally:
        probe.close()
    return {
        "python": platform.python_version(),
        "sqlcipher": cipher,
        "sqlite": sqlite,
        "sqlcipher3": metadata.version("sqlcipher3"),
        "cryptography": metadata.version("cryptography"),
        "argon2_cffi": metadata.version("argon2-cffi"),
        "sqlalchemy": metadata.version("SQLAlchemy"),
        "platform": platform.platform(),
        "commit": git_commit(),
        "cpu_count": os.cpu_count(),
        "scale": scale.name,
        "events": events,
        "records": scale.records,
        "runs": {"kdf": scale.kdf_reps, "unlock": scale.unlock_reps, "audit_append": scale.appends,
                 "audit_verify_signed": scale.runs, "audit_verify_hash": scale.read_runs,
                 "audit_export_1m": scale.read_runs, "audit_verify_export_1m": scale.runs,
                 "record_create": scale.creates, "record_view": scale.views,
                 "list_page_100k": scale.list_runs, "search_10k_cold": scale.search_runs,
                 "search_10k_warm": scale.search_runs, "case_open_20": scale.case_runs,
                 "chronology_500": scale.case_runs, "audit_page_1m": scale.list_runs,
                 "check_100k": scale.check_runs},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(scale: Scale, events: int, *, with_growth: bool = False) -> dict[str, Any]:
    progress = Progress()
    result: dict[str, Any] = {"meta": meta(scale, events)}
    with tempfile.TemporaryDirectory(prefix="incident-vault-bench-") as tmp:
        workdir = Path(tmp)
        guidance_figure = bench_guidance(scale, progress)
        kdf = bench_kdf(scale, progress)
        unlock = bench_unlock(workdir, scale, kdf["median_s"], progress)
        append = bench_append(workdir, scale, progress)
        record_figures = bench_records(workdir, scale, progress)
        search_figures = bench_search(workdir, scale, progress)
        case_figures = bench_cases(workdir, scale, progress)
        check_figure = bench_check(workdir, scale, progress)
        session = build_log(workdir, events, progress)
        try:
            with raw_connection(session.vault.db_path, session.secrets.db_key) as raw:
                verify_hash = bench_verify_hash(session, raw, scale, events, progress)
                audit_page = bench_audit_page(session, raw, scale, events, progress)
                export = bench_export(session, raw, workdir, scale, events, progress)
                verify_signed = bench_verify_signed(session, raw, scale, events, progress)
                verify_export = bench_verify_export(session, workdir, scale, events, verify_signed["median_s"],
                                                    progress)
        finally:
            session.lock()
        measured = {"list_page_100k": record_figures["list_page_100k"], **search_figures,
                    "audit_verify_hash": verify_hash, "audit_verify_signed": verify_signed,
                    "audit_export_1m": export, "audit_page_1m": audit_page}
        grown = growth(workdir, scale, events, measured, progress) if with_growth else None
    result.update({
        "kdf": kdf,
        "unlock": unlock,
        "audit_append": append,
        "audit_verify_signed": verify_signed,
        "audit_verify_hash": verify_hash,
        "audit_export_1m": export,
        "audit_verify_export_1m": verify_export,
        **record_figures,
        **search_figures,
        **case_figures,
        "audit_page_1m": audit_page,
        "guidance_review_5000_words": guidance_figure,
        "check_100k": check_figure,
    })
    if grown is not None:
        result["growth"] = grown
    result["meta"]["elapsed_s"] = round(time.perf_counter() - progress.start, 1)
    return result


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.3f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3f} ms"
    return f"{value * 1e6:.1f} us"


def table(result: dict[str, Any]) -> str:
    head = ("figure", "median", "baseline", "baseline_s", "ratio", "per_s", "target", "met")
    rows = [head]
    for name, fig in result.items():
        if name in ("meta", "growth"):
            continue
        rows.append((
            name, seconds(fig["median_s"]), fig["baseline"], seconds(fig["baseline_s"]), f"{fig['ratio']:.3f}",
            f"{fig['per_s']:,.0f}" if "per_s" in fig else "-", fig.get("target", "-"),
            ("yes" if fig["met"] else "NO") if "met" in fig else "-",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    m = result["meta"]
    extras = [f"unlock overhead {seconds(result['unlock']['overhead_s'])}, cold unlock "
              f"{seconds(result['unlock']['cold_s'])}",
              f"export csv {seconds(result['audit_export_1m']['csv_median_s'])}",
              f"verify-export {seconds(result['audit_verify_export_1m']['median_s'])} of a "
              f"{result['audit_verify_export_1m']['file_mb']:,.0f} MB file, beside signed verify from the database "
              f"{seconds(result['audit_verify_export_1m']['signed_db_median_s'])}"]
    create, view, page = result["record_create"], result["record_view"], result["list_page_100k"]
    extras += [f"record_create alone (sealed to {create['alone_readers']}) {seconds(create['alone_median_s'])}, "
               f"then shared (sealed to {create['with_share_readers']}) {seconds(create['with_share_median_s'])}",
               f"record_view warm {seconds(view['warm_median_s'])}",
               f"list page at offset {page['deep_offset']:,} of {page['records']:,} records "
               f"{seconds(page['deep_offset_median_s'])} (baseline {seconds(page['deep_offset_baseline_s'])})"]
    if "growth" in result:
        extras += growth_lines(result["growth"])
    lines += ["", *extras,
              f"{m['scale']} scale, {m['events']:,} events, {m['cpu_count']} CPUs, Python {m['python']}, "
              f"SQLCipher {m['sqlcipher']}, cryptography {m['cryptography']}, {m['date']}, {m['elapsed_s']} s"]
    return "\n".join(lines)


# --- growth: how cost grows with the vault ------------------------------------------------------

GROWTH_RECORDS = (1_000, 10_000, 100_000)  # readable records behind a list page
GROWTH_SEARCH = (1_000, 10_000, 100_000)  # records searched (at 100,000, about a minute a run)
GROWTH_EVENTS = (100_000, 1_000_000)  # audit events behind verify, export and the auditor's page


def brief(fig: Figure) -> dict[str, Any]:
    """A figure's median, baseline and ratio (and rate), for the growth table."""
    return {key: fig[key] for key in ("median_s", "baseline_s", "ratio", "per_s") if key in fig}


def growth(workdir: Path, scale: Scale, events: int, measured: dict[str, Any], progress: Progress, *,
           records_sizes: tuple[int, ...] = GROWTH_RECORDS, search_sizes: tuple[int, ...] = GROWTH_SEARCH,
           events_sizes: tuple[int, ...] = GROWTH_EVENTS) -> dict[str, dict[str, dict[str, Any]]]:
    """The figures whose cost could grow with the vault, each at every size, beside the same-run
    baseline at that size. A size the main run already measured is taken from it."""
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in (
        "list_page", "search_cold", "audit_verify_hash", "audit_verify_signed", "audit_export", "audit_page")}
    for n in records_sizes:
        if n == scale.records:
            fig = measured["list_page_100k"]
        else:
            folder = workdir / f"growth-list-{n}"
            folder.mkdir()
            fig = bench_list(folder, replace(scale, records=n, list_budget_s=min(scale.list_budget_s, 20.0)),
                             progress)
        out["list_page"][str(n)] = brief(fig)
    for n in search_sizes:
        if n == scale.search_records:
            fig = measured["search_10k_cold"]
        else:
            folder = workdir / f"growth-search-{n}"
            folder.mkdir()
            fig = bench_search(folder, replace(scale, search_records=n, search_runs=min(scale.search_runs, 3)),
                               progress)["search_10k_cold"]
        out["search_cold"][str(n)] = brief(fig)
    for n in events_sizes:
        if n == events:
            figs = {"audit_verify_hash": measured["audit_verify_hash"],
                    "audit_verify_signed": measured["audit_verify_signed"],
                    "audit_export": measured["audit_export_1m"], "audit_page": measured["audit_page_1m"]}
        else:
            folder = workdir / f"growth-log-{n}"
            folder.mkdir()
            session = build_log(folder, n, progress)
            try:
                with raw_connection(session.vault.db_path, session.secrets.db_key) as raw:
                    figs = {"audit_verify_hash": bench_verify_hash(session, raw, scale, n, progress),
                            "audit_page": bench_audit_page(session, raw, scale, n, progress),
                            "audit_export": bench_export(session, raw, folder, scale, n, progress),
                            "audit_verify_signed": bench_verify_signed(session, raw, scale, n, progress)}
            finally:
                session.lock()
        for name, fig in figs.items():
            out[name][str(n)] = brief(fig)
    return out


def growth_lines(grown: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = ["", "growth (median at each size; ratio to the same-run baseline at that size)"]
    for name, sizes in grown.items():
        cells = [f"{int(size):,}: {seconds(fig['median_s'])} ({fig['ratio']:.2f}x)" for size, fig in sizes.items()]
        lines.append(f"  {name:<20} " + "; ".join(cells))
    return lines


def log_size(text: str) -> int:
    value = int(text)
    if value < 10:
        raise argparse.ArgumentTypeError("must be at least 10")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="incident-vault performance figures (SPEC §10).")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--quick", action="store_true", help="a smaller scale that runs in under a minute")
    parser.add_argument("--events", type=log_size, metavar="N", help="audit log size for verify and export")
    parser.add_argument("--growth", action="store_true",
                        help="also measure how cost grows: list pages and search at 1k, 10k and 100k records; "
                             "verify, export and the auditor's page at 100k and 1M events (about 7 minutes more "
                             "at full scale)")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    result = run(scale, args.events or scale.events, with_growth=args.growth)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
