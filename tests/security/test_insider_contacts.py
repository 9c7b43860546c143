"""Forged emergency numbers (issue 14): an insider — an ordinary member of staff, who holds the
database key like every user — rewrites the contacts table. The contacts panel (F3) and the
writing screen's danger step must no longer show what they wrote, and must say why; a contact an
admin saved shows as before; and no contact.saved event that is not an admin's genuine statement
confirms anything."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from textual.widgets import DataTable, Static

from tests.conftest import ADMIN, Built
from tests.tui.test_app import _login, settle
from tui.app import make_app
from tui.screens.compose_steps import DangerScreen
from tui.screens.contacts import ContactsScreen
from vault import audit, contacts, crypto
from vault.contacts import ContactEntry

SAM = "sam"
REAL = "0100 555 0199"  # the police unit's number, as an admin saved it
FORGED = "07700 900666"  # the insider's own
POLICE = "Police child protection unit"
REFUGE = "Women's refuge"


@pytest.fixture
def vault(built: Built) -> Built:
    """Alice (admin) has filled in the police unit's number and added a refuge; sam is staff."""
    built.add(SAM, "staff")
    built.add("sofia", "safeguarding_officer")
    with built.unlock(ADMIN) as admin:
        police = _by_name(admin.list_contacts(), POLICE)
        admin.save_contact(police.id, name=police.name, phone=REAL, notes=police.notes)
        admin.save_contact(None, name=REFUGE, phone="0100 555 0123", notes="Day and night.")
    return built


def _by_name(entries: list[ContactEntry], name: str) -> ContactEntry:
    return next(c for c in entries if c.name == name)


def _insider(built: Built, sql: str, **params: Any) -> None:
    """What sam can do with the database key their slot gives them."""
    with built.unlock(SAM) as session, session.engine.begin() as conn:
        conn.execute(text(sql), params)


def _contacts(built: Built, user: str = SAM) -> list[ContactEntry]:
    with built.unlock(user) as session:
        return session.list_contacts()


def _cells(app: Any) -> list[str]:
    table = app.screen.query_one("#contacts-table", DataTable)
    return [str(cell) for i in range(table.row_count) for cell in table.get_row_at(i)]


def _shown(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _police_id(built: Built) -> int:
    return _by_name(_contacts(built, ADMIN), POLICE).id


# --- the core ---------------------------------------------------------------------------------


def test_a_number_changed_in_the_table_is_not_confirmed_until_an_admin_saves_it(vault: Built) -> None:
    police_id = _police_id(vault)
    _insider(vault, "UPDATE contacts SET phone = :p WHERE id = :i", p=FORGED, i=police_id)
    police = next(c for c in _contacts(vault) if c.id == police_id)
    assert not police.confirmed
    assert police.problem.startswith("It does not hold what an admin last saved (audit event ")
    assert police.shown_name == POLICE and FORGED not in police.warning
    assert contacts.NOT_CONFIRMED in police.warning
    assert all(c.confirmed for c in _contacts(vault) if c.id != police_id)  # the others as before
    with vault.unlock(ADMIN) as admin:  # an admin puts the number right: confirmed again
        admin.save_contact(police_id, name=POLICE, phone=REAL, notes=police.notes)
        assert admin.audit_verify().ok
    police = next(c for c in _contacts(vault) if c.id == police_id)
    assert police.confirmed and police.phone == REAL and police.problem == ""


@pytest.mark.parametrize("sql", [
    "UPDATE contacts SET name = 'Police: call ' || :p WHERE id = :i",
    "UPDATE contacts SET notes = 'Out of hours: ' || :p WHERE id = :i",
    "UPDATE contacts SET position = 0 WHERE id = :i",  # first on the danger step
], ids=["name", "notes", "position"])
def test_every_part_of_what_a_contact_shows_is_covered(vault: Built, sql: str) -> None:
    police_id = _police_id(vault)
    _insider(vault, sql, p=FORGED, i=police_id)
    police = next(c for c in _contacts(vault) if c.id == police_id)
    assert not police.confirmed and police.shown_name == POLICE and FORGED not in police.warning


def test_the_seeded_public_services_count_only_as_seeded(vault: Built) -> None:
    """A new vault's own contacts have no event: they count while they hold what the vault was
    created with, and not once changed (999 itself included)."""
    assert all(c.confirmed for c in _contacts(vault))
    _insider(vault, "UPDATE contacts SET phone = :p WHERE id = 1", p=FORGED)
    emergency = _contacts(vault)[0]
    assert not emergency.confirmed and emergency.shown_name.startswith("Emergency services")
    assert "no admin has saved it since" in emergency.problem


def test_a_planted_contact_is_not_confirmed_and_its_name_is_not_shown(vault: Built) -> None:
    _insider(vault, "INSERT INTO contacts (position, name, phone, notes, updated_at) "
                    "VALUES (0, 'Refuge (new number)', :p, '', '')", p=FORGED)
    planted = _contacts(vault)[0]
    assert not planted.confirmed and "No admin has saved it" in planted.problem
    assert "Refuge" not in planted.shown_name and FORGED not in planted.warning


def test_a_contact_deleted_in_the_table_is_named_and_an_admin_puts_it_back(vault: Built) -> None:
    refuge = _by_name(_contacts(vault), REFUGE)
    _insider(vault, "DELETE FROM contacts WHERE id IN (:i, 3)", i=refuge.id)  # and a seeded one
    listed = _contacts(vault)
    gone = [c for c in listed if not c.confirmed]
    assert [c.shown_name for c in gone] == ["Social Care Direct (children's and adults' social care)", REFUGE]
    assert all(c.problem == "It was removed outside the vault, where no one can remove a contact." for c in gone)
    with vault.unlock(ADMIN) as admin:
        admin.save_contact(refuge.id, name=REFUGE, phone="0100 555 0123", notes=refuge.notes)
    back = next(c for c in _contacts(vault) if c.id == refuge.id)
    assert back.confirmed and back.phone == "0100 555 0123"


def _forge_row(built: Built) -> int:
    police_id = _police_id(built)
    _insider(built, "UPDATE contacts SET phone = :p WHERE id = :i", p=FORGED, i=police_id)
    return police_id


def _forged_event(police_id: int, name: str = POLICE) -> audit.Event:
    notes = "The local unit's number: an admin fills it in."
    return audit.Event("contact.saved", object=str(police_id), properties={
        "contact_id": police_id, "name": name, "content_sha256": contacts.content_sha256(name, FORGED, notes, 4)})


def test_a_contact_saved_event_by_staff_does_not_confirm(vault: Built) -> None:
    police_id = _forge_row(vault)
    with vault.unlock(SAM) as sam, sam.write() as conn:  # sam signs with their own key
        [(seq, _)] = sam.append(conn, [_forged_event(police_id)])
    police = next(c for c in _contacts(vault) if c.id == police_id)
    assert not police.confirmed
    assert police.problem == f"The audit event that last saved it (event {seq}) is by sam, who is not an admin."


def test_a_contact_saved_event_in_an_admins_name_with_another_signature_does_not_confirm(vault: Built) -> None:
    police_id = _forge_row(vault)
    with vault.unlock(SAM) as sam, sam.write() as conn:
        admin_id = sam.directory.by_name(ADMIN).user_id
        [(seq, _)] = audit.append(conn, sam.vault_id, crypto.Signer(sam.secrets.sign_private), admin_id,
                                  [_forged_event(police_id)], sam.vault.clock)
    police = next(c for c in _contacts(vault) if c.id == police_id)
    assert not police.confirmed
    assert police.problem == f"The audit event that last saved it (event {seq}) is not signed by alice, whom it names."


def test_an_admins_contact_saved_event_rewritten_does_not_confirm(vault: Built) -> None:
    """The insider drops the trigger and writes the forged row's hash into alice's own event."""
    police_id = _forge_row(vault)
    forged = audit.canonical_json(_forged_event(police_id).properties)
    with vault.unlock(SAM) as session, session.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        seq = conn.execute(text("SELECT max(seq) FROM audit_events WHERE action = 'contact.saved' "
                                "AND object = :o"), {"o": str(police_id)}).scalar_one()
        conn.execute(text("UPDATE audit_events SET properties = :p WHERE seq = :s"), {"p": forged, "s": seq})
    police = next(c for c in _contacts(vault) if c.id == police_id)
    assert not police.confirmed
    assert police.problem == f"The audit event that last saved it (event {seq}) was altered."


def test_a_disabled_admins_saves_stand_but_their_key_confirms_nothing_afterwards(vault: Built) -> None:
    vault.add("ada", "admin")
    with vault.unlock("ada") as ada:
        ada_key, ada_id = ada.secrets.sign_private, ada.user_id
        refuge = _by_name(ada.list_contacts(), REFUGE)
        ada.save_contact(refuge.id, name=REFUGE, phone="0100 555 0124", notes=refuge.notes)
    with vault.unlock(ADMIN) as admin:
        admin.disable_user("ada")
    assert _by_name(_contacts(vault), REFUGE).confirmed  # saved while ada was an admin
    police_id = _forge_row(vault)
    with vault.unlock(SAM) as sam, sam.write() as conn:  # ada's old key, kept by an insider
        [(seq, _)] = audit.append(conn, sam.vault_id, crypto.Signer(ada_key), ada_id,
                                  [_forged_event(police_id)], sam.vault.clock)
    police = next(c for c in _contacts(vault) if c.id == police_id)
    assert not police.confirmed
    assert police.problem == (f"The audit event that last saved it (event {seq}) is by ada "
                              "after that admin was disabled.")


# --- the faces: the contacts panel (F3) and the danger step -------------------------------------


async def test_the_panel_and_the_danger_step_no_longer_show_a_forged_number_and_say_why(vault: Built) -> None:
    police_id = _forge_row(vault)
    app = make_app(vault.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, SAM, vault.passwords[SAM])
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen)
        cells = _cells(app)
        assert not any(FORGED in cell for cell in cells)
        row = [str(c) for c in app.screen.query_one("#contacts-table", DataTable).get_row(str(police_id))]
        assert row == [POLICE, "(not shown)", contacts.NOT_CONFIRMED]
        assert "0100 555 0123" in cells and "999" in cells  # the others, as saved
        warnings = _shown(app, "#contacts-warnings")
        assert FORGED not in warnings
        assert warnings.startswith(f"{POLICE}: changed outside the vault — not confirmed by an admin. "
                                   "It does not hold what an admin last saved")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, DangerScreen)
        advice = _shown(app, "#danger-text")
        assert FORGED not in advice and REAL not in advice
        assert advice.startswith("If yes: call 999 now")
        assert f"Not shown, changed outside the vault — not confirmed by an admin: {POLICE}. F3 says why." in advice
        assert f"{REFUGE}: 0100 555 0123" in advice and "sofia" in advice


async def test_a_forged_emergency_row_leaves_999_said_from_the_code(vault: Built) -> None:
    _insider(vault, "UPDATE contacts SET phone = :p WHERE id = 1", p=FORGED)
    app = make_app(vault.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, SAM, vault.passwords[SAM])
        await pilot.press("w")
        await pilot.pause()
        advice = _shown(app, "#danger-text")
        assert "call 999 now" in advice and FORGED not in advice
        assert "Not shown, changed outside the vault — not confirmed by an admin: Emergency services" in advice


async def test_contacts_saved_normally_show_normally(vault: Built) -> None:
    app = make_app(vault.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, SAM, vault.passwords[SAM])
        await pilot.press("f3")
        await settle(pilot)
        row = [str(c) for c in app.screen.query_one("#contacts-table", DataTable).get_row(str(_police_id(vault)))]
        assert row == [POLICE, REAL, "The local unit's number: an admin fills it in."]
        assert not app.screen.query_one("#contacts-warnings", Static).display
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        advice = _shown(app, "#danger-text")
        assert f"{POLICE}: {REAL}" in advice and "Not shown" not in advice


async def test_an_admin_sees_the_stored_values_warned_and_saving_confirms(vault: Built) -> None:
    from textual.widgets import Button, Input

    from tui.screens.contacts import ContactEditScreen

    police_id = _forge_row(vault)
    app = make_app(vault.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, ADMIN, vault.passwords[ADMIN])
        await pilot.press("f3")
        await settle(pilot)
        table = app.screen.query_one("#contacts-table", DataTable)
        table.move_cursor(row=table.get_row_index(str(police_id)))
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ContactEditScreen)
        assert app.screen.query_one("#phone", Input).value == FORGED  # as stored, to be checked
        assert "changed outside the vault" in _shown(app, "#contact-warning")
        app.screen.query_one("#phone", Input).value = REAL
        app.screen.query_one("#save", Button).press()
        await settle(pilot)
        row = [str(c) for c in app.screen.query_one("#contacts-table", DataTable).get_row(str(police_id))]
        assert row[:2] == [POLICE, REAL]
        assert not app.screen.query_one("#contacts-warnings", Static).display
