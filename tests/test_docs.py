"""Docs that cannot rot: every CLI command is in the README; the README's quick start
and CI call the same test command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import ALL_COMMANDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    assert "incident-vault " + " ".join(path) in README


def test_quick_start_and_ci_use_make_test() -> None:
    assert "make demo" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_security_md_explains_the_three_layers() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8").lower()
    for phrase in ("at rest", "need-to-know", "accountability", "not protected", "checkpoint"):
        assert phrase in text


def test_the_readmes_rules_example_works(tmp_path: Path) -> None:
    from vault import guidance

    example = README.split("```toml\n", 1)[1].split("```", 1)[0]
    rules_file = tmp_path / "ours.toml"
    rules_file.write_text(example, encoding="utf-8")
    rules = guidance.load_rules(rules_file)
    findings = guidance.review("He kicked off at the meeting. He is a nuisance.", rules)
    assert [f.kind for f in findings] == ["judgemental", "judgemental"]
