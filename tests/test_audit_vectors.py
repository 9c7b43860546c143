"""Two verifiers, one format (docs/audit-format.md): the vault's own ``audit verify-export`` and
``scripts/verify_export.py``, written from the document alone and never importing the vault, must
give the verdict each test vector states (tests/vectors/audit/verdicts.json), and agree on fresh
exports of a vault holding every kind of event, honest and tampered. Either one drifting from the
document — or the document from the code — fails here."""

from __future__ import annotations

import hashlib
import json
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault import audit, export_verify, facts

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors" / "audit"
SECOND = ROOT / "scripts" / "verify_export.py"
VERDICTS: dict[str, dict[str, Any]] = json.loads((VECTORS / "verdicts.json").read_text(encoding="ascii"))
MAKE = runpy.run_path(str(ROOT / "scripts" / "make_audit_vectors.py"))


def _second(path: Path, checkpoints: list[Path], anchor: str | None) -> tuple[bool, int | None]:
    """The independent verifier's verdict, run as an auditor would run it: its own process."""
    args = [sys.executable, str(SECOND), str(path), "--json"]
    for kept in checkpoints:
        args += ["--checkpoint", str(kept)]
    if anchor:
        args += ["--anchor", anchor]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["ok"] == (done.returncode == 0)
    return verdict["ok"], verdict["first_bad_seq"]


def _ours(path: Path, checkpoints: list[Path], anchor: str | None) -> tuple[bool, int | None]:
    result = export_verify.verify_file(path, checkpoints=checkpoints, anchor=anchor)
    return result.ok, result.first_bad_seq


def _both(path: Path, checkpoints: list[Path] = (), anchor: str | None = None) -> tuple[Any, Any]:  # type: ignore[assignment]
    return _ours(path, list(checkpoints), anchor), _second(path, list(checkpoints), anchor)


def test_every_vector_event_re_hashes_and_its_signature_verifies() -> None:
    """events.json, checked with nothing but hashlib and cryptography — and the vault's encoder
    builds the same pre-images."""
    events = json.loads((VECTORS / "events.json").read_text(encoding="ascii"))
    lines = [json.loads(line) for line in (VECTORS / "export.jsonl").read_text(encoding="ascii").splitlines()[:-1]]
    assert [e["seq"] for e in events] == [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert {e["action"] for e in events} == set(facts.SPECS), "the vectors hold every kind of event"
    for vector, line in zip(events, lines, strict=True):
        pre = bytes.fromhex(vector["pre_image"])
        assert hashlib.sha256(pre).hexdigest() == vector["hash"] == line["hash"]
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(vector["sign_public"])).verify(
            bytes.fromhex(vector["signature"]), bytes.fromhex(vector["hash"]))
        assert pre == audit.encode(bytes.fromhex(line["prev_hash"]), line["seq"], line["at"], line["actor_id"],
                                   line["action"], line["record_id"], line["object"], vector["properties"])


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_both_verifiers_give_each_vector_its_verdict(name: str) -> None:
    case = VERDICTS[name]
    expected = (case["ok"], case["first_bad_seq"])
    ours, second = _both(VECTORS / case["file"], [VECTORS / c for c in case.get("checkpoints", [])],
                         case.get("anchor"))
    assert ours == expected, f"verify-export: {case['what']}"
    assert second == expected, f"scripts/verify_export.py: {case['what']}"


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return MAKE["build_every_kind"](tmp_path_factory.mktemp("every-kind"))


def test_fresh_exports_of_every_kind_verify_in_both(office: Any, tmp_path: Path) -> None:
    exports = {
        "all.jsonl": MAKE["export"](office, "jsonl"),
        "all.csv": MAKE["export"](office, "csv"),
        "record.jsonl": MAKE["export"](office, "jsonl", record=1),
        "sofia.csv": MAKE["export"](office, "csv", actor="sofia"),
        "viewed.jsonl": MAKE["export"](office, "jsonl", action="record.viewed"),
        "until.csv": MAKE["export"](office, "csv", until="2026-09-22"),
    }
    whole = [json.loads(line) for line in exports["all.jsonl"].splitlines()[:-1]]
    assert {e["action"] for e in whole} == set(facts.SPECS)
    anchor = whole[0]["hash"]
    kept = tmp_path / "kept.json"
    kept.write_text(MAKE["checkpoint"](office), encoding="ascii")
    for name, text in exports.items():
        path = tmp_path / name
        path.write_text(text, encoding="ascii", newline="")
        ours, second = _both(path, anchor=anchor)
        assert ours == second == (True, None), name
    # The kept checkpoint is later than these exports: both see the log as cut back.
    ours, second = _both(tmp_path / "all.jsonl", [kept], anchor)
    assert ours == second == (False, None)


def test_fresh_tamperings_are_caught_alike(office: Any, tmp_path: Path) -> None:
    honest = MAKE["export"](office, "jsonl")
    with office.unlock("sofia") as insider:
        variants = MAKE["tampered"](insider, honest)
    assert len(variants) >= 10
    for name, (text, bad, what) in variants.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(text, encoding="ascii", newline="")
        ours, second = _both(path)
        assert ours == second == (False, bad), f"{name}: {what}"


def test_the_second_verifier_needs_only_the_standard_library_and_cryptography() -> None:
    """What an auditor runs without trusting the vault must not lean on the vault's code."""
    import ast

    tree = ast.parse(SECOND.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported <= set(sys.stdlib_module_names) | {"cryptography", "__future__"}, imported
    assert not {"importlib", "runpy"} & imported
