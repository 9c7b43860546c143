"""The registry of what the audit log may say (vault/facts.py): every action the vault appends
has a shape and a set of roles that may state it; what the vault writes is accepted, fast and in
full; anything else is refused (non-canonical JSON, extra keys, wrong types, over-long text, an
action nobody knows), and the fast check never accepts what the full one refuses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import ADMIN, CHEAP, Built, FakeClock
from vault import audit, audit_log, backup, cases, facts, policy, retention
from vault.errors import InvalidInput
from vault.models import ROLES, AuditEvent, table
from vault.rekey import rekey
from vault.session import Vault

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400.0
RECORD = {"own_words": "She said it happened at home.", "observations": "Calm, tired."}
# Actions the vault states but no use case below reaches yet (other build steps append them).
NOT_YET_APPENDED = {"user.rotated", "facts.resolved"}


def _events(session: Any) -> list[Any]:
    t = table(AuditEvent)
    with session.read() as conn:
        return list(conn.execute(select(t).order_by(t.c.seq)).all())


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Built, list[Any], dict[int, frozenset[str]]]]:
    """A vault taken through every use case that writes an event, its log, and each user's roles."""
    base = tmp_path_factory.mktemp("facts")
    clock = FakeClock()
    vault, code = Vault.init(base / "vault", ADMIN, "alice's long password", argon2=CHEAP, clock=clock)
    built = Built(vault, code, {ADMIN: "alice's long password"})
    built.add("sam", "staff")
    built.add("lee", "line_manager")
    built.add("sofia", "safeguarding_officer")
    built.add("dev", "deputy_safeguarding_officer")
    built.add("carol", "auditor")
    built.add("gone", "staff")
    with pytest.raises(Exception):  # noqa: B017 - a failed unlock, logged at the next one
        vault.unlock("sam", "not sam's password")
    with built.unlock("sam") as sam:
        draft = sam.save_draft(None, {**RECORD, "subject": "draft"}, autosave=True)
        sam.save_draft(draft, {**RECORD, "subject": "draft, again"})
        sam.open_draft(draft)
        sam.submit_draft(draft, {**RECORD, "subject": "submitted"})
        first = sam.create_record(RECORD, share_with=[("lee", "line_manager_advice")])
        other = sam.create_record({**RECORD, "urgency": "urgent"})
        sam.view_record(first)
        sam.add_addendum(first, "Later: she called again.")
        sam.disclose_record(first, to="Children's services", channel="phone", basis="Legal duty",
                            summary="Told them what she said.", consent="not_sought")
        list(sam.search_records("home"))
        sam.revoke_record(first, "lee")
        sam.share_record(first, "lee", "legal_duty")
        sam.refer_record(first)
        sam.refer_record(other)
        sam.refer_record(draft)
    with built.unlock("sofia") as sofia:
        case = sofia.open_case([first])
        sofia.link_case(case, [other])
        sofia.assign_case(case, "dev")
        sofia.decide_case(case, "Reviewed with the deputy.")
        sofia.decide_case(case, "Sent to social care.", kind="external_referral", to="Social care")
        sofia.show_case(case)
        sofia.close_case(case, "Support in place.", password=built.passwords["sofia"])
        retention.set_retention_rule(sofia, "other", years_after_closure=7, child_until_age=25)
    clock.advance(8 * 366 * DAY)
    with built.unlock("sofia") as sofia:
        sofia.destroy_case(case, password=built.passwords["sofia"])
    with built.unlock(ADMIN) as admin:
        contact = admin.list_contacts()[0]
        admin.save_contact(contact.id, name=contact.name, phone=contact.phone, notes="Ask for the duty team.")
        admin.disable_user("gone")
        one_time = admin.reset_user("carol", code)
        admin.backup(base / "vault.backup")
        admin.check()
    with vault.unlock("carol", one_time) as carol:
        carol.change_password(one_time, "carol's new long password")
        built.passwords["carol"] = "carol's new long password"
    with built.unlock("carol") as carol:
        carol.audit_export(open(base / "log.jsonl", "w", encoding="utf-8"), "jsonl",  # noqa: SIM115
                           action="record.viewed", since="2026-01-01")
        carol.audit_verify()
    rekey(vault, ADMIN, built.passwords[ADMIN])
    restored = Vault(base / "restored", argon2=CHEAP, clock=clock)
    backup.restore(restored, base / "vault.backup", ADMIN, built.passwords[ADMIN])
    with built.unlock(ADMIN) as admin:
        log = _events(admin)
        roles = {p.user_id: p.roles for p in admin.directory.people.values()}
    with restored.unlock(ADMIN, built.passwords[ADMIN]) as admin:
        log += [e for e in _events(admin) if e.action == "vault.restored"]
    yield built, log, roles


def test_the_vault_writes_only_events_of_a_known_shape_by_someone_entitled(
        worked: tuple[Built, list[Any], dict[int, frozenset[str]]]) -> None:
    built, log, roles = worked
    for e in log:
        assert facts.parse(e.action, e.properties) is not None, (e.seq, e.action, e.properties)
        assert facts.FAST[e.action](e.properties) is not None, (e.seq, e.action, e.properties)  # the fast way too
        assert e.action == "vault.created" or facts.may_state(e.action, roles[e.actor_id]), (e.seq, e.action)
    seen = {e.action for e in log}
    assert seen == set(facts.SPECS) - NOT_YET_APPENDED, sorted(set(facts.SPECS) - NOT_YET_APPENDED - seen)
    with built.unlock(ADMIN) as admin:
        assert admin.audit_verify().ok and admin.audit_verify(signatures=False).ok


def test_every_action_in_the_code_has_a_spec() -> None:
    appended = set()
    for path in (ROOT / "vault").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        appended |= set(re.findall(r'Event\(\s*"([a-z_.]+)"', text))
        appended |= set(re.findall(r'Event\(\s*"([a-z_.]+)"\s+if', text))
        for constant, value in re.findall(r'^([A-Z_]+): Final = "([a-z_]+\.[a-z_.]+)"$', text, re.M):
            if re.search(rf"Event\(\s*{constant}\b", text):
                appended.add(value)
    assert {"record.viewed", "contact.saved", "vault.created", "unlock"} <= appended
    assert appended <= set(facts.SPECS), sorted(appended - set(facts.SPECS))


def test_who_may_state_what_follows_the_policy() -> None:
    writers, team = policy.WRITERS, policy.SAFEGUARDING_TEAM
    expected = {
        "record.created": writers, "record.submitted": writers, "record.draft_saved": writers,
        "record.viewed": policy.READERS, "record.shared": policy.READERS, "record.revoked": policy.READERS,
        "case.closed": team, "case.opened": team, "case.destroyed": team, "record.destroyed": team,
        "retention.rule_changed": team | {policy.ADMIN},
        "contact.saved": {policy.ADMIN}, "user.added": {policy.ADMIN}, "user.disabled": {policy.ADMIN},
        "user.rotated": {policy.ADMIN}, "facts.resolved": {policy.ADMIN}, "vault.backup": {policy.ADMIN},
        "audit.exported": {policy.ADMIN, policy.AUDITOR}, "vault.checked": {policy.ADMIN, policy.AUDITOR},
        "unlock": set(ROLES), "lock": set(ROLES), "user.password_changed": set(ROLES),
    }
    for action, allowed in expected.items():
        for role in ROLES:
            assert facts.may_state(action, {role}) == (role in allowed), (action, role)
    assert not facts.may_state("case.closed", {"staff", "line_manager"})
    assert facts.may_state("case.closed", {"staff", "deputy_safeguarding_officer"})
    assert not any(facts.may_state("vault.created", {role}) for role in ROLES)
    assert not facts.may_state("vault.imagined", set(ROLES))
    assert facts.actions_for(frozenset({"auditor"})) == {"unlock", "lock", "unlock.failed", "user.password_changed",
                                                         "audit.exported", "vault.checked"}


def test_the_registry_names_the_same_choices_as_the_code() -> None:
    assert facts.DECISION_KINDS == cases.DECISIONS
    assert facts.CASE_STATUSES == cases._STATUS_ORDER
    exported = facts.SPECS["audit.exported"].shape.fields["filter"].kind
    assert isinstance(exported, facts.Shape)
    action = exported.fields["action"].kind
    assert isinstance(action, facts.Text) and action.max_len == audit_log.MAX_ACTION_FILTER


GOOD: dict[str, dict[str, Any]] = {
    "record.viewed": {"reference": "IV-2026-0001"},
    "case.closed": {"case": "CASE-2026-0003", "entry_id": 4, "retain_until": "2032-05-01"},
    "contact.saved": {"contact_id": 2, "name": "NHS 111", "content_sha256": "ab" * 32},
    "record.referred": {"reference": "IV-2026-0012", "to": [3, 4], "added": []},
    "unlock.failed": {"target": "unknown user", "username": None, "count": 3,
                      "first_at": "2026-11-21T15:20:00.123456Z", "last_at": "2026-11-21T15:21:00.000000Z"},
    "audit.exported": {"format": "csv", "filter": {"action": "record.viewed", "actor_id": 2}},
    "facts.resolved": {"seq": 5812, "reason": "Restored bob's disable from the backup of 3 May."},
}


@pytest.mark.parametrize("action", sorted(GOOD))
def test_what_the_vault_writes_is_accepted(action: str) -> None:
    text = audit.canonical_json(GOOD[action])
    assert facts.parse(action, text) == GOOD[action]
    assert facts.well_formed(action, text) and facts.explain(action, text) == ""
    facts.check(action, GOOD[action])


def _bad_texts() -> list[tuple[str, str, str]]:
    """(action, stored text, what the refusal says) for texts that must be refused."""
    viewed = '{"reference":"IV-2026-0001"}'
    closed = '{"case":"CASE-2026-0003","entry_id":4,"retain_until":"2032-05-01"}'
    return [
        ("record.viewed", '{"reference": "IV-2026-0001"}', "canonical"),  # a space
        ("record.viewed", '{"reference":"IV-2026-\\u0030001"}', "canonical"),  # an escape nobody needs
        ("case.closed", '{"entry_id":4,"case":"CASE-2026-0003","retain_until":"2032-05-01"}', "canonical"),
        ("case.closed", closed.replace('"entry_id":4', '"entry_id":4.0'), "'entry_id'"),
        ("case.closed", closed.replace('"entry_id":4', '"entry_id":true'), "'entry_id'"),
        ("case.closed", closed.replace('"entry_id":4', '"entry_id":"4"'), "'entry_id'"),
        ("case.closed", closed.replace('"entry_id":4', '"entry_id":0'), "'entry_id'"),
        ("case.closed", closed.replace('"entry_id":4', '"entry_id":' + "9" * 30), "'entry_id'"),
        ("case.closed", closed.replace("2032-05-01", "2032-5-1"), "'retain_until'"),
        ("case.closed", closed.replace('"entry_id":4,', ""), "no 'entry_id'"),
        ("case.closed", closed[:-1] + ',"also":"a note"}', "does not allow"),
        ("case.closed", '{"case":"CASE-2026-0003","case":"CASE-2026-0003","entry_id":4,"retain_until":"2032-05-01"}',
         "canonical"),
        ("record.viewed", viewed.replace("IV-2026-0001", "IV-2026-0001\\n{\\\"seq\\\":1}"), "'reference'"),
        ("record.viewed", viewed + "\n", "canonical"),  # JSON allows the line break; the log does not
        ("record.viewed", '["IV-2026-0001"]', "not a JSON object"),
        ("record.viewed", "NaN", "not a JSON object"),
        ("record.viewed", "[" * 100_000, "not JSON"),
        ("record.viewed", "x" * (facts.MAX_PROPERTIES_CHARS + 1), "longer"),
        ("contact.saved", audit.canonical_json({"contact_id": 1, "name": "x" * 201}), "'name'"),
        ("facts.resolved", audit.canonical_json({"seq": 5, "reason": "y" * 501}), "'reason'"),
        ("facts.resolved", audit.canonical_json({"seq": 5, "reason": None}), "'reason'"),
        ("unlock", '{"note":"hello"}', "does not allow"),
        ("record.referred", '{"added":[],"reference":"IV-2026-0012","to":[3,"4"]}', "'to'"),
        ("audit.exported", '{"filter":{"who":"bob"},"format":"csv"}', "'filter'"),
        ("test.undeclared", '{"i":1}', "does not know"),  # a test action nobody declared
        ("record.Viewed", viewed, "does not know"),
    ]


@pytest.mark.parametrize(("action", "text", "why"), _bad_texts())
def test_anything_else_is_refused_with_a_reason(action: str, text: str, why: str) -> None:
    assert facts.parse(action, text) is None
    assert not facts.well_formed(action, text)
    fast = facts.FAST.get(action)
    assert fast is None or fast(text) is None
    reason = facts.explain(action, text)
    assert why in reason, reason
    assert "\n" not in reason and "hello" not in reason and "who" not in reason and "also" not in reason


def test_check_refuses_before_anything_is_written() -> None:
    with pytest.raises(InvalidInput, match="does not know"):
        facts.check("record.imagined", {})
    with pytest.raises(InvalidInput, match="'retain_until'"):
        facts.check("case.closed", {"case": "CASE-2026-0003", "entry_id": 4, "retain_until": "soon"})


def _mutations(text: str) -> Iterator[str]:
    """Small changes to a canonical text: each is either refused or still canonical."""
    for i in range(len(text)):
        yield text[:i] + text[i + 1:]
        yield text[:i] + " " + text[i:]
        for c in ('"', "\\", "0", "9", "a", "F", ",", "}", "\u00e9"):
            yield text[:i] + c + text[i + 1:]


def test_the_fast_check_never_accepts_what_the_full_check_refuses(
        worked: tuple[Built, list[Any], dict[int, frozenset[str]]]) -> None:
    _built, log, _roles = worked
    texts = {(e.action, e.properties) for e in log if len(e.properties) < 400}
    texts |= {(a, audit.canonical_json(v)) for a, v in GOOD.items()}
    tried = 0
    for action, text in sorted(texts):
        for changed in _mutations(text):
            tried += 1
            full = facts._full(facts.SPECS[action].shape, changed)[0]
            if facts.FAST[action](changed) is not None:
                assert full is not None and audit.canonical_json(full) == changed, (action, changed)
            assert (facts.parse(action, changed) is not None) == (full is not None)
    assert tried > 10_000


def test_test_actions_are_refused_unless_declared_and_never_replace_a_real_one() -> None:
    with pytest.raises(ValueError):
        facts.allow_test_actions("record.viewed")
    with pytest.raises(ValueError):
        facts.allow_test_actions("note")
    assert facts.spec("test.never_declared") is None
    assert json.loads(audit.canonical_json({"a": 1})) == {"a": 1}
