"""The ``incident-vault guidance …`` command: the facts-only reviewer on a file (SPEC §5, §8)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vault import guidance
from vault.cli.common import Parser, out, read_text, usage


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def cmd_guidance_check(args: argparse.Namespace) -> int:
    text = read_text(args.file, "The text to check")
    rules = guidance.load_rules(*args.rules) if args.rules else guidance.default_rules()
    findings = []
    for finding in guidance.review(text, rules):
        line, column = line_and_column(text, finding.start)
        findings.append({**finding.to_dict(), "line": line, "column": column})
    out(json.dumps(findings, ensure_ascii=True, indent=2))
    return 0


def add_commands(sub: argparse._SubParsersAction[Parser]) -> None:
    """The ``guidance`` command and its sub-commands."""
    # No vault options: the reviewer needs no vault and no password.
    guide = sub.add_parser("guidance", help="the facts-only reviewer: leading questions, opinion, judgement",
                           description="The facts-only reviewer: leading questions, opinion, judgement.")
    guide.set_defaults(func=lambda _a: usage(guide))
    gsub = guide.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    help_ = ("review a text and print its findings as a JSON list (kind, offsets, line, column, message, "
             "suggestion; never the text itself); exit 0 whether or not there are findings")
    p = gsub.add_parser("check", help=help_, description=help_)
    p.set_defaults(func=cmd_guidance_check)
    p.add_argument("file", metavar="FILE", help="the text to review, UTF-8 (- for standard input)")
    p.add_argument("--rules", action="append", type=Path, metavar="FILE",
                   help="an organisation's rules file (TOML) added to the built-in rules (repeatable)")
