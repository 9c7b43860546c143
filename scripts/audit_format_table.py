"""Print the per-action table of docs/audit-format.md (§7) from the vault's own registry,
``vault.facts.SPECS``, so that the published format cannot drift from what verify accepts.

    .venv/bin/python scripts/audit_format_table.py            # print the table
    .venv/bin/python scripts/audit_format_table.py --check    # exit 1 if the doc's copy differs

The table sits in the document between the lines ``<!-- actions:begin -->`` and
``<!-- actions:end -->``; tests/test_audit_format.py runs ``--check``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vault import facts
from vault.models import ROLES

DOC = Path(__file__).resolve().parent.parent / "docs" / "audit-format.md"
BEGIN, END = "<!-- actions:begin -->", "<!-- actions:end -->"


def kind(k: facts.Kind) -> str:
    """A property's type in the notation §7 defines."""
    if isinstance(k, facts.Int):
        if (k.low, k.high) == (1, facts.MAX_INT):
            return "id"
        if (k.low, k.high) == (0, facts.MAX_INT):
            return "count"
        return f"int {k.low}..{k.high}"
    if isinstance(k, facts.Flag):
        return "bool"
    if isinstance(k, facts.Text):
        return f"text ≤ {k.max_len}"
    if isinstance(k, facts.Form):
        return "`/" + k.regex.replace("|", "\\|") + "/`"  # a table cell: its bars escaped
    if isinstance(k, facts.Choice):
        return " \\| ".join(f'`"{c}"`' for c in k.choices)
    if isinstance(k, facts.Ints):
        if k.item != facts.ID:  # pragma: no cover - every list the vault writes is of ids
            raise ValueError("a list of something other than ids")
        return f"list of ≤ {k.max_items:,} ids"
    if isinstance(k, facts.Roles):
        return "roles"
    if k == facts.SPECS["audit.exported"].shape.fields["filter"].kind:
        return "filter"
    raise ValueError(f"no notation for {k!r}")  # pragma: no cover - a new kind needs one here


def fields(shape: facts.Shape) -> str:
    if not shape.fields:
        return "(none: `{}`)"
    out = []
    for name in sorted(shape.fields):
        f = shape.fields[name]
        text = f"`{name}`{'?' if f.optional else ''}: {kind(f.kind)}"
        if f.nullable:
            text += " or null"
        out.append(text)
    return "; ".join(out)


def who(spec: facts.ActionSpec) -> str:
    if spec.first_event:
        return "event 1 only, by the user it introduces"
    return ", ".join(r for r in ROLES if r in spec.roles)


def table() -> str:
    lines = ["| action | who may state it | properties |", "|---|---|---|"]
    for action in sorted(facts.SPECS):
        spec = facts.SPECS[action]
        lines.append(f"| `{action}` | {who(spec)} | {fields(spec.shape)} |")
    return "\n".join(lines) + "\n"


def in_doc(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        if in_doc(DOC.read_text(encoding="utf-8")) != table():
            print(f"{DOC.name}'s action table differs from vault.facts: run {Path(__file__).name} and paste it.",
                  file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
