"""``incident-vault guidance check FILE|-`` (SPEC §5, §8): findings as JSON, exit 0 either way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Run = Callable[..., CliResult]
CANARY = "qwxcanary"
TEXT = f"{CANARY} arrived at 9.\nDid your dad hit you?\nShe said \"he is a liar\". I think she is probably scared.\n"


def _findings(result: CliResult) -> list[dict[str, object]]:
    assert result.code == 0, result.err
    findings = json.loads(result.out)
    assert isinstance(findings, list)
    return findings


def test_check_a_file_prints_the_findings_with_offsets_lines_and_columns(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text(TEXT, encoding="utf-8")
    findings = _findings(cli("guidance", "check", str(path)))
    assert [f["kind"] for f in findings] == ["leading_question", "opinion", "opinion"]
    first = findings[0]
    assert set(first) == {"kind", "start", "end", "line", "column", "message", "suggestion"}
    assert TEXT[first["start"]:first["end"]] == "Did your dad hit you?"  # type: ignore[misc]
    assert (first["line"], first["column"]) == (2, 1)
    assert (findings[1]["line"], findings[1]["column"]) == (3, 26)


def test_check_reads_standard_input_and_needs_no_vault(cli: Run, tmp_path: Path) -> None:
    result = cli("guidance", "check", "-", stdin=TEXT)
    assert len(_findings(result)) == 3
    assert not (tmp_path / "cli-vault").exists()


def test_no_findings_is_an_empty_list_and_exit_0(cli: Run) -> None:
    assert _findings(cli("guidance", "check", "-", stdin="She said she was frightened.\n")) == []


def test_the_text_itself_is_never_printed(cli: Run) -> None:
    result = cli("guidance", "check", "-", stdin=TEXT)
    assert CANARY not in result.out + result.err
    assert "hit you" not in result.out


def test_an_organisations_rules_file_is_added(cli: Run, tmp_path: Path) -> None:
    rules = tmp_path / "ours.toml"
    rules.write_text('[[judgemental]]\nmessage = "Describe, do not label."\nsuggestion = "Describe it."\n'
                     'phrases = ["nuisance"]\n', encoding="utf-8")
    findings = _findings(cli("guidance", "check", "--rules", str(rules), "-", stdin="He is a nuisance."))
    assert [(f["kind"], f["message"]) for f in findings] == [("judgemental", "Describe, do not label.")]


def _one_sentence(result: CliResult) -> str:
    assert result.code == 1 and result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("incident-vault: ") and "Traceback" not in result.err
    return lines[0]


def test_bad_input_is_one_sentence(cli: Run, tmp_path: Path) -> None:
    assert "cannot be read" in _one_sentence(cli("guidance", "check", str(tmp_path / "missing.txt")))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00" + CANARY.encode())
    message = _one_sentence(cli("guidance", "check", str(binary)))
    assert "not UTF-8" in message and CANARY not in message
    big = tmp_path / "big.txt"
    big.write_bytes(b"a " * 600_000)
    assert "larger than 1 MB" in _one_sentence(cli("guidance", "check", str(big)))
    rules = tmp_path / "bad.toml"
    rules.write_text("phrases = [", encoding="utf-8")
    assert "not a valid TOML file" in _one_sentence(cli("guidance", "check", "--rules", str(rules), "-", stdin="x"))
