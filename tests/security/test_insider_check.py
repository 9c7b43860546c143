"""``check`` names what an insider did to the tables that the vault cannot prevent (issue 14,
docs/integrity.md §6): every table the vault keeps as an index of the signed log is reconciled
with the facts, and each difference is one sentence naming records by reference and people by
username.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, Built, FakeClock
from tests.security._util import Template, built_from, people_template, unlocked
from vault import retention
from vault.check import CheckResult
from vault.record_schema import CATEGORIES, DEFAULTS, URGENCIES
from vault.retention import SEEDED_RULE

PEOPLE = (("bob", "staff"), ("lena", "line_manager"), ("mallory", "staff"), ("sofia", "safeguarding_officer"),
          ("carol", "auditor"), ("zed", "staff"))
DAY = 86_400


def record(**fields_: Any) -> dict[str, Any]:
    return {"own_words": "She said the door was locked.", "observations": "She was shaking.", **fields_}


def _lived_in(v: Built, clock: FakeClock) -> dict[str, str]:
    """A vault that has seen every kind of fact: shares, a revoke, referrals, a case opened,
    linked, closed and destroyed, an open case, a disabled user."""
    refs: dict[str, str] = {}
    with unlocked(v, "bob", "sofia", ADMIN) as s:
        bob, sofia = s["bob"], s["sofia"]
        refs["shared"] = bob.create_record(record(), share_with=[("lena", "line_manager_advice")])
        bob.share_record(refs["shared"], "mallory", "legal_duty")
        bob.revoke_record(refs["shared"], "mallory")
        bob.add_addendum(refs["shared"], "Later she rang.")
        bob.disclose_record(refs["shared"], to="Social care", channel="phone", basis="risk of harm",
                            summary="Minimal facts.", consent="given")
        refs["draft"] = bob.save_draft(None, {"own_words": "unfinished"})
        refs["referred"] = bob.create_record(record())
        bob.refer_record(refs["referred"])
        refs["in_case"] = bob.create_record(record())
        bob.refer_record(refs["in_case"])
        refs["open_case"] = sofia.open_case([refs["in_case"]])
        refs["destroyed"] = bob.create_record(record())
        bob.refer_record(refs["destroyed"])
        refs["old_case"] = sofia.open_case([refs["destroyed"]])
        sofia.close_case(refs["old_case"], "Support in place.", password=v.passwords["sofia"],
                         retain_until="2027-01-01")
        s[ADMIN].disable_user("zed")
    clock.advance(400 * DAY)
    with v.unlock("sofia") as sofia:
        sofia.destroy_case(refs["old_case"], password=v.passwords["sofia"])
    return refs


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return people_template(tmp_path_factory.mktemp("insider-check") / "vault", PEOPLE)


@pytest.fixture
def lived(template: Template, tmp_path: Path, clock: FakeClock) -> tuple[Built, dict[str, str]]:
    v = built_from(template, tmp_path / "vault", clock)
    return v, _lived_in(v, clock)


def insider(v: Built, sql: str, *params: Any) -> None:
    """mallory, an ordinary member of staff, with the database key and the triggers dropped."""
    with v.unlock("mallory") as mallory, mallory.engine.begin() as conn:
        for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").all():
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        conn.exec_driver_sql(sql, params if params else ())


def run_check(v: Built, who: str = "carol") -> CheckResult:
    with v.unlock(who) as session:
        result: CheckResult = session.check()
    return result


def test_an_honest_vault_that_saw_every_kind_of_fact_agrees_with_its_log(lived: tuple[Built, dict[str, str]]) -> None:
    v, _refs = lived
    result = run_check(v)
    assert result.ok and "facts" in result.checked and result.differences == (), result.sentence()
    assert "every table agrees with the signed log" in result.sentence()


def _id(v: Built, ref: str) -> int:
    with v.unlock("mallory") as m, m.read() as conn:
        return int(conn.exec_driver_sql("SELECT id FROM records WHERE reference = ?", (ref,)).scalar_one())


def _user(v: Built, name: str) -> int:
    with v.unlock("mallory") as m:
        return m.directory.by_name(name).user_id


Tamper = Callable[[Built, dict[str, str]], None]
TAMPERING: dict[str, tuple[Tamper, str]] = {
    "a planted grant": (
        lambda v, r: insider(v, "INSERT INTO grants (record_id, user_id, hpke_suite, key_version, sealed, granted_by, "
                                "granted_at, reason) SELECT record_id, ?, hpke_suite, key_version, sealed, granted_by, "
                                "granted_at, 'legal_duty' FROM grants WHERE record_id = ? AND user_id IS NULL",
                            _user(v, "mallory"), _id(v, r["referred"])),
        "has a key sealed to mallory, whom no signed event made a reader"),
    "a removed grant": (
        lambda v, r: insider(v, "DELETE FROM grants WHERE record_id = ? AND user_id = ?", _id(v, r["shared"]),
                             _user(v, "lena")),
        "key for lena was removed from the grants table"),
    "every grant of a record removed": (
        lambda v, r: insider(v, "DELETE FROM grants WHERE record_id = ?", _id(v, r["referred"])),
        "recovery copy of its key was removed"),
    "a record removed": (
        lambda v, r: (insider(v, "DELETE FROM grants WHERE record_id = ?", _id(v, r["referred"])),
                      insider(v, "DELETE FROM records WHERE reference = ?", r["referred"])),
        "was removed from the records table outside the retention procedure"),
    "a planted record row": (
        lambda v, r: insider(v, "INSERT INTO records (id, reference, author_id, status, category, urgency, protected, "
                                "created_at, updated_at, submitted_at, referred_at, key_version, content) SELECT 900, "
                                "'IV-2026-0900', author_id, status, category, urgency, protected, created_at, "
                                "updated_at, submitted_at, referred_at, key_version, content FROM records WHERE "
                                "reference = ?", r["shared"]),
        "IV-2026-0900 has no signed creation in the audit log"),
    "a cleared referral": (
        lambda v, r: insider(v, "UPDATE records SET referred_at = NULL WHERE reference = ?", r["referred"]),
        "referral was altered in the records table"),
    "another author": (
        lambda v, r: insider(v, "UPDATE records SET author_id = ? WHERE reference = ?", _user(v, "mallory"),
                             r["shared"]),
        "author in the records table is mallory"),
    "a draft marked submitted": (
        lambda v, r: insider(v, "UPDATE records SET status = 'submitted' WHERE reference = ?", r["draft"]),
        "is marked submitted in the records table; the signed log says draft"),
    "a record's urgency and protection altered": (
        lambda v, r: insider(v, "UPDATE records SET urgency = 'immediate', protected = 1 WHERE reference = ?",
                             r["referred"]),
        "category, urgency or protected flag was altered in the records table"),
    "a foreign role row": (
        lambda v, r: insider(v, "INSERT INTO user_roles (user_id, role) VALUES (?, 'admin')", _user(v, "mallory")),
        "mallory's roles in the user_roles table differ from the signed log"),
    "a disabled user re-enabled in the table": (
        lambda v, r: insider(v, "UPDATE users SET disabled_at = NULL WHERE username = 'zed'"),
        "zed's disabled mark was altered"),
    "a planted case link": (
        lambda v, r: insider(v, "INSERT INTO case_records (case_id, record_id, linked_by, linked_at) SELECT id, ?, "
                                "opened_by, opened_at FROM cases WHERE reference = ?",
                             _id(v, r["referred"]), r["open_case"]),
        "records in the case_records table differ from its signed events"),
    "a forged emergency number": (
        lambda v, r: insider(v, "UPDATE contacts SET phone = '07700 900666' WHERE id = 1"),
        "is not as an admin last saved it"),
    "a shortened retention rule": (
        lambda v, r: insider(v, "UPDATE retention_rules SET years_after_closure = 0 WHERE category = 'safeguarding'"),
        "The retention rule for safeguarding was altered in the retention_rules table"),
    "an altered retention date": (
        lambda v, r: insider(v, "UPDATE cases SET retain_until = '2026-01-01' WHERE reference = ?", r["old_case"]),
        "retention date was altered in the cases table"),
}


@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_check_names_what_an_insider_did_to_the_tables(lived: tuple[Built, dict[str, str]], what: str) -> None:
    v, refs = lived
    tamper, words = TAMPERING[what]
    tamper(v, refs)
    result = run_check(v)
    assert not result.ok and result.phase == "facts", result.sentence()
    assert any(words in d for d in result.differences), result.differences
    assert result.sentence().startswith("vault.db's tables differ from the signed audit log")
    assert all(d.endswith(".") and "\n" not in d for d in result.differences)
    assert "She said" not in " ".join(result.differences)


def test_a_rule_changed_in_the_table_is_not_the_one_used(lived: tuple[Built, dict[str, str]]) -> None:
    v, _refs = lived
    insider(v, "UPDATE retention_rules SET years_after_closure = 1, child_until_age = 1")
    with v.unlock("sofia") as sofia:
        assert set(retention.retention_rules(sofia)) == {(c, *SEEDED_RULE) for c in CATEGORIES}
        retention.set_retention_rule(sofia, "other", years_after_closure=9, child_until_age=30)
        assert ("other", 9, 30) in retention.retention_rules(sofia)


def test_the_seeded_rule_is_what_the_migration_seeds() -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0004_cases.py"
    spec = importlib.util.spec_from_file_location("m0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert SEEDED_RULE == (module.YEARS_AFTER_CLOSURE, module.CHILD_UNTIL_AGE)
    assert tuple(module.CATEGORIES) == CATEGORIES



def test_a_list_shows_the_signed_urgency_not_the_tables(lived: tuple[Built, dict[str, str]]) -> None:
    v, refs = lived
    signed = DEFAULTS["urgency"]
    forged = next(u for u in URGENCIES if u != signed)
    insider(v, "UPDATE records SET urgency = ? WHERE reference = ?", forged, refs["referred"])
    with v.unlock("sofia") as sofia:
        queued = {r.record.reference: r.record.urgency for r in sofia.referral_queue()}
    with v.unlock("bob") as bob:
        listed = {r.reference: r.urgency for r in bob.list_records()}
    assert queued[refs["referred"]] == listed[refs["referred"]] == signed
