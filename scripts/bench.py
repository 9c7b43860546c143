"""Performance figures of incident-vault, each against a baseline measured in the same run (SPEC §10).

Usage::

    python scripts/bench.py [--quick] [--json] [--events N]

``--json`` prints one JSON object on stdout: a ``meta`` key (versions, CPU count,
scale, date) and one key per figure, each
``{"median_s", "baseline", "baseline_s", "ratio"}`` with ``ratio = median_s / baseline_s``,
plus ``per_s`` for rates and ``target``/``met`` where the project has set a target.
Without ``--json`` the same figures are printed as a table. Progress goes to stderr.
``--quick`` measures the same figures on a smaller audit log (20,000 events
instead of 1,000,000) so that the whole run takes well under a minute on two cores;
``--events N`` sets the audit log's size for either scale.

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
    ``vault.audit.verify(engine, vault_id, signatures=False)``: reading the log
    and checking the hash chain. Baseline (``sqlcipher_read_sha256``): a raw
    ``sqlcipher3`` cursor reading the same ten columns of the same table in
    ``seq`` order and hashing the concatenation of each row's fields with SHA-256.
``audit_export_1m``
    ``vault.audit.export`` of the whole log as JSON Lines to a file (CSV as the
    extra key ``csv_median_s``). Baseline (``sqlcipher_read_write``): a raw
    ``sqlcipher3`` cursor reading the same ten columns in ``seq`` order and
    writing each row as one tab-separated line (bytes as hex) to a file.

The audit figures use one vault with a cheap (still accepted) Argon2id cost; its
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
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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

from vault import audit, crypto, db
from vault.session import Session, Vault

CHEAP_ARGON2 = crypto.Argon2Params(time_cost=2, memory_kib=19 * 1024, parallelism=1)
ADMIN = "alice"
BUILD_BATCH = 10_000

VERIFY_SIGNED_TARGET_PER_S = 12_000.0
VERIFY_HASH_TARGET_PER_S = 200_000.0
UNLOCK_OVERHEAD_TARGET_S = 0.050
EXPORT_TARGET_RATIO = 1.5

AUDIT_COLUMNS = "seq, at, actor_id, action, record_id, object, properties, prev_hash, hash, signature"
SELECT_LOG = f"SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY seq"
INSERT_LOG = f"INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

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


QUICK = Scale("quick", events=20_000, kdf_reps=5, unlock_reps=7, appends=500, runs=3, read_runs=7)
FULL = Scale("full", events=1_000_000, kdf_reps=9, unlock_reps=9, appends=1_000, runs=3, read_runs=3)


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
        batch = [audit.Event("record.viewed", record_id=i, properties={"n": i}) for i in range(have, have + n)]
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
                expect(f"export {fmt}", audit.export(session.engine, out, fmt, audit.ExportFilter(), final), events)
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

# --- the run ------------------------------------------------------------------------------------


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
        "runs": {"kdf": scale.kdf_reps, "unlock": scale.unlock_reps, "audit_append": scale.appends,
                 "audit_verify_signed": scale.runs, "audit_verify_hash": scale.read_runs,
                 "audit_export_1m": scale.read_runs},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(scale: Scale, events: int) -> dict[str, Any]:
    progress = Progress()
    result: dict[str, Any] = {"meta": meta(scale, events)}
    with tempfile.TemporaryDirectory(prefix="incident-vault-bench-") as tmp:
        workdir = Path(tmp)
        kdf = bench_kdf(scale, progress)
        unlock = bench_unlock(workdir, scale, kdf["median_s"], progress)
        append = bench_append(workdir, scale, progress)
        session = build_log(workdir, events, progress)
        try:
            with raw_connection(session.vault.db_path, session.secrets.db_key) as raw:
                verify_hash = bench_verify_hash(session, raw, scale, events, progress)
                export = bench_export(session, raw, workdir, scale, events, progress)
                verify_signed = bench_verify_signed(session, raw, scale, events, progress)
        finally:
            session.lock()
    result.update({
        "kdf": kdf,
        "unlock": unlock,
        "audit_append": append,
        "audit_verify_signed": verify_signed,
        "audit_verify_hash": verify_hash,
        "audit_export_1m": export,
    })
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
        if name == "meta":
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
              f"export csv {seconds(result['audit_export_1m']['csv_median_s'])}"]
    lines += ["", *extras,
              f"{m['scale']} scale, {m['events']:,} events, {m['cpu_count']} CPUs, Python {m['python']}, "
              f"SQLCipher {m['sqlcipher']}, cryptography {m['cryptography']}, {m['date']}, {m['elapsed_s']} s"]
    return "\n".join(lines)


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
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    result = run(scale, args.events or scale.events)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
