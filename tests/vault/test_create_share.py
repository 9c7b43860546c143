"""create_record(share_with=...) seals to the named readers in the same transaction."""

from __future__ import annotations

import pytest

from tests.conftest import Built
from vault.errors import InvalidInput

RECORD = {"own_words": "They said it started in the summer.", "observations": "Quiet; looked at the floor."}


def test_create_can_share_in_the_same_transaction(built: Built) -> None:
    built.add("sam", "staff")
    built.add("lee", "line_manager")
    with built.unlock("sam") as sam:
        ref = sam.create_record(RECORD, share_with=[("lee", "line_manager_advice")])
        with pytest.raises(InvalidInput):
            sam.create_record(RECORD, share_with=[("sam", "legal_duty")])
        with pytest.raises(InvalidInput):
            sam.create_record(RECORD, draft=True, share_with=[("lee", "legal_duty")])
        with pytest.raises(InvalidInput):
            sam.create_record(RECORD, share_with=[("lee", "because")])
        history = sam.record_history(ref)
    assert [e.action for e in history] == ["record.created", "record.submitted", "record.shared"]
    assert history[-1].details["to_username"] == "lee" and history[-1].details["reason"] == "line_manager_advice"
    with built.unlock("lee") as lee:
        assert lee.view_record(ref).content["own_words"] == RECORD["own_words"]
        assert [r.reference for r in lee.list_records()] == [ref]
