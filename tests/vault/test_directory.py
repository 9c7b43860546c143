"""The session's directory of users follows changes made after it was read."""

from __future__ import annotations

from tests.conftest import ADMIN, Built

RECORD = {"own_words": "They said it started in the summer.", "observations": "Quiet; looked at the floor."}


def test_a_user_added_after_unlock_can_be_shared_with_at_once(built: Built) -> None:
    built.add("sam", "staff")
    with built.unlock("sam") as sam:
        ref = sam.create_record(RECORD)
        built.add("lee", "line_manager")  # another session adds lee while sam's is open
        sam.share_record(ref, "lee", "line_manager_advice")
    with built.unlock("lee") as lee:
        assert [r.reference for r in lee.list_records()] == [ref]


def test_a_writer_added_after_a_reader_unlocked_is_named_in_lists(built: Built) -> None:
    built.add("sofia", "safeguarding_officer")
    with built.unlock("sofia") as sofia:
        built.add("sam", "staff")
        with built.unlock("sam") as sam:
            ref = sam.create_record(RECORD)
            sam.refer_record(ref)
        assert [(r.reference, r.author) for r in sofia.list_records()] == [(ref, "sam")]


def test_a_user_disabled_after_unlock_is_not_referred_to(built: Built) -> None:
    built.add("sam", "staff")
    built.add("sofia", "safeguarding_officer")
    built.add("dev", "deputy_safeguarding_officer")
    with built.unlock("sam") as sam:
        ref = sam.create_record(RECORD)
        with built.unlock(ADMIN) as admin:
            admin.disable_user("dev")
        assert sam.refer_record(ref) == ["sofia"]

