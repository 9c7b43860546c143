"""``incident-vault audit verify-export``: an export checked with no vault, no user and no password;
one sentence, exit 0 only if everything holds, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Run = Callable[..., CliResult]
PW = "alice's long password"


@pytest.fixture
def exported(cli: Run, tmp_path: Path) -> dict[str, Path]:
    """A vault's whole export in both formats, and a kept checkpoint; the vault then moved away."""
    assert cli("init", "--admin", "alice", "--password-stdin", stdin=PW + "\n").code == 0
    files = {"jsonl": tmp_path / "log.jsonl", "csv": tmp_path / "log.csv", "cp": tmp_path / "cp.json"}
    files["cp"].write_text(cli("audit", "checkpoint", "--user", "alice", "--password-stdin", stdin=PW + "\n").out)
    for fmt in ("jsonl", "csv"):
        result = cli("audit", "export", "--format", fmt, "--out", str(files[fmt]), "--user", "alice",
                     "--password-stdin", stdin=PW + "\n")
        assert result.code == 0, result.err
    return files


def test_an_export_verifies_with_no_vault_and_no_password(cli: Run, exported: dict[str, Path],
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INCIDENT_VAULT_DIR", str(tmp_path / "no-vault-here"))
    anchor = json.loads(exported["jsonl"].read_text().splitlines()[0])["hash"]
    for fmt in ("jsonl", "csv"):
        result = cli("audit", "verify-export", str(exported[fmt]), "--checkpoint", str(exported["cp"]),
                     "--anchor", anchor)
        assert result.code == 0, result.err
        assert result.out.startswith("The export verifies:") and "anchored to the first event you kept" in result.out
        assert len(result.out.strip().splitlines()) == 1
    plain = cli("audit", "verify-export", str(exported["jsonl"]))
    assert plain.code == 0 and f"compare its first event's hash, {anchor}" in plain.out


def test_a_tampered_or_foreign_file_fails_in_one_sentence(cli: Run, exported: dict[str, Path], tmp_path: Path) -> None:
    lines = exported["jsonl"].read_text().splitlines(keepends=True)
    cases = {
        "altered.jsonl": "".join(lines).replace('"alice"', '"mallory"', 1),
        "cut.jsonl": "".join(lines[:-1]),
        "truncated.jsonl": "".join(lines)[:-40],
        "empty.jsonl": "",
        "foreign.txt": "Dear auditor,\nnothing to see here.\n",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_text(content)
        result = cli("audit", "verify-export", str(path))
        assert result.code == 1, (name, result.out, result.err)
        assert result.out.startswith("The export does not verify: ") and len(result.out.strip().splitlines()) == 1
        assert "Traceback" not in result.err
    missing = cli("audit", "verify-export", str(tmp_path / "nowhere.jsonl"))
    assert missing.code == 1 and missing.err.startswith("incident-vault: The export") and "Traceback" not in missing.err
    bad_anchor = cli("audit", "verify-export", str(exported["jsonl"]), "--anchor", "not-a-hash")
    assert bad_anchor.code == 1 and "not a hash" in bad_anchor.err


def test_verify_export_help_says_what_it_needs_and_checks(cli: Run) -> None:
    result = cli("audit", "verify-export", "--help")
    assert result.code == 0
    for phrase in ("no vault", "password", "--anchor", "--checkpoint", "signed", "filtered"):
        assert phrase in result.out, phrase
