"""Search across decrypted text: only what the user may read, case-blind, addenda included,
one audit event that never holds the words searched for."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.conftest import Built
from vault.errors import InvalidInput
from vault.models import AuditEvent


@pytest.fixture
def people(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("lee", "staff")
    return built


def _record(words: str, **extra: object) -> dict[str, object]:
    return {"own_words": words, "observations": "Quiet.", **extra}


def test_search_finds_text_the_user_may_read_and_nothing_else(people: Built) -> None:
    with people.unlock("sam") as sam:
        first = sam.create_record(_record("The GREEN van came at night."))
        second = sam.create_record(_record("Nothing about vehicles.", protected=True))
        sam.add_addendum(second, "Later she mentioned a green   van too.")
        draft = sam.create_record(_record("green van again"), draft=True)
        sam.create_record(_record("Unrelated."))
    with people.unlock("lee") as lee:
        mine = lee.create_record(_record("A green van, says lee's record."))
        assert [r.reference for r in lee.search_records("green van")] == [mine]
    with people.unlock("sam") as sam:
        found = [r.reference for r in sam.search_records("Green Van")]
        assert found == [draft, second, first]  # newest first; the addendum matched the second
        assert list(sam.search_records("no such words")) == []


def test_addenda_and_disclosures_are_searched_record_by_record(people: Built) -> None:
    """Each record is matched against its own items only, however they interleave with
    records the searcher cannot read."""
    with people.unlock("sam") as sam:
        plain = sam.create_record(_record("Nothing to see."))
        noted = sam.create_record(_record("Nothing here either."))
        sam.add_addendum(noted, "A first note.")
        sam.add_addendum(noted, "A second note naming the canal path.")
    with people.unlock("lee") as lee:
        hidden = lee.create_record(_record("Also nothing."))
        lee.add_addendum(hidden, "The canal path again, in lee's record.")
    with people.unlock("sam") as sam:
        told = sam.create_record(_record("Quiet."))
        sam.disclose_record(told, to="Police", channel="phone", basis="consent",
                            summary="Told them about the canal path.", consent="given")
        sam.create_record(_record("Last one."))
        assert [r.reference for r in sam.search_records("canal path")] == [told, noted]
        assert [r.reference for r in sam.search_records("first note")] == [noted]
        assert [r.reference for r in sam.search_records("nothing to see")] == [plain]


def test_search_reports_progress_and_can_stop(people: Built) -> None:
    with people.unlock("sam") as sam:
        for i in range(250):
            sam.create_record(_record(f"needle {i}" if i % 2 else f"hay {i}"))
        seen: list[tuple[int, int]] = []
        results = list(sam.search_records("needle", progress=lambda done, total: seen.append((done, total))))
        assert len(results) == 125
        assert seen[0] == (0, 250) and seen[-1] == (250, 250)
        stopped = list(sam.search_records("needle", cancelled=lambda: True))
        assert stopped == []


def test_the_audit_event_counts_but_never_holds_the_query(people: Built) -> None:
    with people.unlock("sam") as sam:
        sam.create_record(_record("qzsecret term"))
        assert len(list(sam.search_records("qzsecret"))) == 1
        with sam.read() as conn:
            rows = conn.execute(select(AuditEvent.action, AuditEvent.properties)
                                .where(AuditEvent.action == "record.search")).all()
    assert len(rows) == 1
    assert json.loads(rows[0].properties) == {"searched": 1, "found": 1}
    assert "qzsecret" not in rows[0].properties


@pytest.mark.parametrize("query", ["", "   ", "x" * 201])
def test_an_empty_or_huge_query_is_one_sentence(people: Built, query: str) -> None:
    with people.unlock("sam") as sam, pytest.raises(InvalidInput):
        list(sam.search_records(query))


def test_an_auditor_searches_nothing(people: Built) -> None:
    people.add("aud", "auditor")
    with people.unlock("sam") as sam:
        sam.create_record(_record("findable"))
    with people.unlock("aud") as aud:
        assert list(aud.search_records("findable")) == []
