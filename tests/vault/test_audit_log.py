"""The auditor's page of the log: newest first, a page after the last one shown, filtered by
actor, action, record and time; auditors and admins only; never content."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, Built, FakeClock
from vault.errors import AccessDenied, InvalidInput


def test_pages_and_filters(built: Built, clock: FakeClock) -> None:
    built.add("sam", "staff")
    built.add("carol", "auditor")
    words = "CANARY-page-words"
    with built.unlock("sam") as sam:
        first = sam.create_record({"own_words": words, "observations": "Quiet."})
        clock.advance(86_400)
        second = sam.create_record({"own_words": "Another.", "observations": "Quiet."})
        sam.view_record(first)
    with built.unlock("carol") as carol:
        everything = carol.audit_page(limit=500)
        seqs = [e.seq for e in everything]
        assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
        pages, before = [], None
        while True:
            page = carol.audit_page(limit=7, before=before)
            if not page:
                break
            pages += page
            before = page[-1].seq
        assert [e.seq for e in pages] == seqs  # page after page, nothing skipped or repeated
        by_sam = carol.audit_page(actor="sam")
        assert by_sam and {e.actor for e in by_sam} == {"sam"}
        viewed = carol.audit_page(action="record.viewed")
        assert [e.object for e in viewed] == [first]
        about_first = carol.audit_page(record=first)
        assert {e.action for e in about_first} >= {"record.created", "record.viewed"}
        assert second not in {e.object for e in about_first}
        since = carol.audit_page(actor="sam", action="record.created", since=viewed[0].at[:10])
        assert [e.object for e in since] == [second]
        assert all(words not in str(e) for e in everything)
        with pytest.raises(InvalidInput, match="No user named"):
            carol.audit_page(actor="nobody")
        with pytest.raises(InvalidInput, match="not a date"):
            carol.audit_page(since="last tuesday")
    with built.unlock("sam") as sam, pytest.raises(AccessDenied, match="auditor or an admin"):
        sam.audit_page()
    with built.unlock(ADMIN) as admin:
        assert admin.audit_page(limit=1)[0].action == "unlock"  # an admin reads it too: their own unlock, newest
