"""docs/audit-format.md, the format an auditor's own verifier is written from, cannot drift from
the vault: its per-action table is the registry verify uses (vault.facts), and its stated
constants are the ones the code hashes and signs with."""

from __future__ import annotations

import runpy
from pathlib import Path

from vault import audit

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "audit-format.md").read_text(encoding="utf-8")
TABLE = runpy.run_path(str(ROOT / "scripts" / "audit_format_table.py"))


def test_the_action_table_is_the_registry() -> None:
    assert TABLE["in_doc"](DOC) == TABLE["table"](), "run scripts/audit_format_table.py and paste its table"


def test_the_stated_constants_are_the_codes() -> None:
    assert f'"{audit.GENESIS_LABEL.decode()}"' in DOC
    assert f"{len(audit.GENESIS_LABEL)} ASCII bytes" in DOC
    assert f'"{audit.ENCODING_TAG.decode()}"' in DOC and audit.ENCODING_TAG.hex() in DOC
    assert "sort_keys=True, separators=(\",\", \":\"), ensure_ascii=True" in DOC
    # The canonical example in §4 is what the vault writes.
    canonical = '{"a":null,"b":[1,2],"name":"\\u00e9 \\"q\\""}'
    assert audit.canonical_json({"name": "é \"q\"", "b": [1, 2], "a": None}) == canonical
    assert f"`{canonical}`" in DOC
