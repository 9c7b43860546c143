#!/usr/bin/env python3
"""Precision and recall of the facts-only reviewer on the labelled sets in ``tests/vault/``.

Sets A, B, C, D1, D2, E and F are development sets (the rules were written or rebuilt against
them; C was held out until issue 16 rebuilt the rules, E until its first measurement at 381e3ed,
F until its first at f92ef31). Set G (``guidance_heldout_g.toml``), once it exists, is written
after the rules were frozen by someone who never saw them: its figures are the honest estimate of
how the reviewer does on wording it has never seen, and it is listed first, then F and E.

    python scripts/guidance_eval.py [--errors] [--json] [FILE.toml ...]

Each case in a labelled set is a sentence (or a few) with the kinds it should be flagged with.
A case counts as flagged with a kind if any finding of that kind lies in it. Printed per kind:
recall (expected and flagged / expected), precision (expected and flagged / flagged), and the
false-flag rates the quality bar names:

- leading_question: share of non-leading questions (groups ``open`` and ``neutral``) flagged;
- opinion, judgemental: share of factual sentences (groups ``fact``, ``quoted`` and
  ``hard_negative``) flagged;
- quoted speech: findings that touch a span the set marks as the person's own words (must be 0).

``--errors`` lists every case the reviewer got wrong. Exit status 0 either way.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vault import guidance  # noqa: E402

HERE = ROOT / "tests" / "vault"
# Set A (the rules were developed on it), set B (written blind; held out first, then developed on),
# set C (written blind after the rules were final; held out, then developed on).
# Sets D1 and D2 (rushed, real-world voices: hostels, youth work, adult care; written for issue 16
# and developed on), sets E and F (written blind, held out until measured once, at 381e3ed and
# f92ef31, developed on since), and set G, to be written after the rules were frozen again by
# someone who never saw them: the held-out set, listed first when it exists.
HELD_OUT_G = HERE / "guidance_heldout_g.toml"
SET_F = HERE / "guidance_heldout_f.toml"
SET_E = HERE / "guidance_heldout_e.toml"
SETS = (HELD_OUT_G, SET_F, SET_E, HERE / "guidance_labelled.toml", HERE / "guidance_labelled_b.toml",
        HERE / "guidance_heldout.toml", HERE / "guidance_dev_d1.toml", HERE / "guidance_dev_d2.toml")
QUESTION_GROUPS = ("open", "neutral")
FACT_GROUPS = ("fact", "quoted", "hard_negative")


@dataclass
class KindFigures:
    expected: int = 0
    flagged: int = 0
    hits: int = 0
    false_flags: int = 0  # among the negatives the quality bar names
    negatives: int = 0

    @property
    def recall(self) -> float:
        return self.hits / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.hits / self.flagged if self.flagged else 1.0

    @property
    def false_flag_rate(self) -> float:
        return self.false_flags / self.negatives if self.negatives else 0.0


@dataclass
class Figures:
    cases: int = 0
    kinds: dict[str, KindFigures] = field(default_factory=lambda: {k: KindFigures() for k in guidance.KINDS})
    quoted_spans: int = 0
    quoted_flags: int = 0
    errors: list[str] = field(default_factory=list)


def load(path: Path) -> list[dict[str, object]]:
    with path.open("rb") as f:
        cases: list[dict[str, object]] = tomllib.load(f)["case"]
    return cases


def evaluate(cases: Sequence[dict[str, object]],
             review: Callable[[str], list[guidance.Finding]] = guidance.review) -> Figures:
    figures = Figures()
    for case in cases:
        text, group = str(case["text"]), str(case["group"])
        expect = set(case["expect"])  # type: ignore[call-overload]
        findings = review(text)
        got = {f.kind for f in findings}
        figures.cases += 1
        for kind, kf in figures.kinds.items():
            kf.expected += kind in expect
            kf.flagged += kind in got
            kf.hits += kind in expect and kind in got
            negative_groups = QUESTION_GROUPS if kind == guidance.LEADING_QUESTION else FACT_GROUPS
            if group in negative_groups and kind not in expect:
                kf.negatives += 1
                kf.false_flags += kind in got
        for quoted in case.get("quoted", []):  # type: ignore[attr-defined]
            start = text.index(quoted)
            end = start + len(quoted)
            figures.quoted_spans += 1
            figures.quoted_flags += sum(1 for f in findings if f.start < end and start < f.end)
        if got != expect:
            shown = ", ".join(f"{f.kind}[{text[f.start:f.end]!r}]" for f in findings) or "nothing"
            figures.errors.append(f"{group:13} expect {sorted(expect)} got {shown}: {text}")
    return figures


def as_dict(figures: Figures) -> dict[str, object]:
    return {
        "cases": figures.cases,
        "quoted_spans": figures.quoted_spans,
        "flags_in_quoted_speech": figures.quoted_flags,
        **{kind: {"recall": round(k.recall, 3), "precision": round(k.precision, 3),
                  "false_flag_rate": round(k.false_flag_rate, 3), "expected": k.expected,
                  "negatives": k.negatives}
           for kind, k in figures.kinds.items()},
    }


def table(name: str, figures: Figures) -> str:
    lines = [f"{name}: {figures.cases} cases",
             f"  {'kind':18} {'recall':>7} {'precision':>10} {'false flags':>12}"]
    for kind, k in figures.kinds.items():
        against = "non-leading questions" if kind == guidance.LEADING_QUESTION else "factual sentences"
        lines.append(f"  {kind:18} {k.recall:7.3f} {k.precision:10.3f} {k.false_flag_rate:11.1%}"
                     f"  ({k.hits}/{k.expected} found; {k.false_flags}/{k.negatives} {against} flagged)")
    lines.append(f"  quoted speech: {figures.quoted_flags} findings in {figures.quoted_spans} quoted spans")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Precision and recall of the facts-only reviewer.")
    parser.add_argument("files", nargs="*", type=Path, help="labelled sets (default: the sets in tests/vault)")
    parser.add_argument("--errors", action="store_true", help="list every case the reviewer got wrong")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    files = args.files or [p for p in SETS if p.exists()]
    results = {path.stem: evaluate(load(path)) for path in files}
    if args.json:
        print(json.dumps({name: as_dict(f) for name, f in results.items()}, indent=2))
    else:
        print("\n\n".join(table(name, f) for name, f in results.items()))
    if args.errors:
        for name, f in results.items():
            print(f"\n{name}: {len(f.errors)} cases not as labelled")
            print("\n".join(f.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
