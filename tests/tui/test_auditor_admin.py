"""The auditor's and the admin's workspaces by Pilot: the log a page at a time with filters,
export, verify and checkpoints (never any record content); users added, disabled and reset;
each role's home screen; a member of staff reaching none of it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, ProgressBar, SelectionList, Static, TextArea
from textual.worker import WorkerFailed

from tests.conftest import ADMIN, Built
from tests.tui.test_app import _login, every_screen, released, settle
from tui.app import make_app
from tui.screens.audit import AuditScreen, CheckpointScreen, ExportScreen, LogFiltersScreen, VerifyScreen
from tui.screens.cases import OfficerScreen
from tui.screens.hidden import HiddenScreen
from tui.screens.login import LoginScreen
from tui.screens.records import RecordsScreen
from tui.screens.users import AddUserScreen, OneTimePasswordScreen, ResetUserScreen, UsersScreen
from vault import audit

CANARY = "qzcanary-audit"


@pytest.fixture
def office(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("ada", "auditor")
    with built.unlock("sam") as sam:
        for i in range(3):
            ref = sam.create_record({"own_words": f"{CANARY} {i} He shouts.", "observations": "Calm."})
            sam.view_record(ref)
    return built


def _text(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(selector, Static).render())


def _column(app, index: int) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one("#events", DataTable)
    return [str(table.get_row_at(r)[index]) for r in range(table.row_count)]


async def _filter(pilot, **values: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f")
    await pilot.pause()
    assert isinstance(pilot.app.screen, LogFiltersScreen)
    for name, value in values.items():
        pilot.app.screen.query_one(f"#filter-{name}", Input).value = value
    await pilot.click("#apply")
    await settle(pilot)


async def test_the_auditor_pages_and_filters_the_log_and_never_sees_content(office: Built) -> None:
    with office.unlock(ADMIN) as admin, admin.write() as conn:
        admin.append(conn, [audit.Event("test.filler", properties={"n": i}) for i in range(450)])
    app = make_app(office.vault)
    async with app.run_test(size=(140, 40)) as pilot:
        await _login(pilot, "ada", office.passwords["ada"])
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)  # an auditor's home
        seqs = [int(s) for s in _column(app, 0)]
        assert len(seqs) == 200 and seqs == sorted(seqs, reverse=True)
        head = seqs[0]
        assert _column(app, 3)[0] == "unlock" and _column(app, 2)[0] == "ada"
        await pilot.press("n")
        await settle(pilot)
        assert [int(s) for s in _column(app, 0)] == list(range(head - 200, head - 400, -1))
        await pilot.press("n")
        await settle(pilot)
        last_page = [int(s) for s in _column(app, 0)]
        assert last_page[-1] == 1 and len(last_page) < 200
        await pilot.press("n")
        await settle(pilot)
        assert "no older events" in _text(app, "#audit-status")
        await pilot.press("p")
        await settle(pilot)
        assert int(_column(app, 0)[0]) == head - 200

        await _filter(pilot, actor="sam", action="record.viewed")
        assert _column(app, 2) == ["sam"] * 3 and set(_column(app, 3)) == {"record.viewed"}
        assert "actor sam, action record.viewed" in str(app.screen.query_one("#log-title").render())
        await _filter(pilot, actor="sam", since="2999-01-01")
        assert app.screen.query_one("#events", DataTable).row_count == 0
        await _filter(pilot, actor="nobody")
        assert _text(app, "#audit-status") == "No user named 'nobody' appears in the log. The filters were not changed."
        await _filter(pilot, since="last tuesday")
        assert "'last tuesday' is not a date or time" in _text(app, "#audit-status")
        assert "since 2999-01-01" in str(app.screen.query_one("#log-title").render())
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#clear")
        await settle(pilot)
        assert app.screen.query_one("#events", DataTable).row_count == 200
        assert CANARY not in app.export_screenshot()


async def _start_export(pilot, path: Path, fmt: str = "jsonl") -> None:  # type: ignore[no-untyped-def]
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ExportScreen)
    pilot.app.screen.query_one("#export-format").value = fmt
    await pilot.pause()
    pilot.app.screen.query_one("#export-path", Input).value = str(path)
    await pilot.click("#start-export")
    await pilot.pause()


async def _verify(pilot, *files: Path) -> str:  # type: ignore[no-untyped-def]
    """Verify from the auditor's screen against ``files``; the verdict."""
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(pilot.app.screen, VerifyScreen)
    pilot.app.screen.query_one("#checkpoint-files", TextArea).load_text("\n".join(map(str, files)))
    await pilot.click("#start-verify")
    with contextlib.suppress(WorkerFailed):
        await settle(pilot)
    return _text(pilot.app, "#verdict")


async def test_export_verify_and_checkpoints_from_the_auditor_screen(office: Built, tmp_path: Path) -> None:
    with office.unlock("ada") as ada:
        by_sam = len(ada.audit_page(limit=500, actor="sam"))
    assert by_sam > 6  # sam's password change, creations, views, unlocks and locks
    app = make_app(office.vault)
    async with app.run_test(size=(140, 40)) as pilot:
        await _login(pilot, "ada", office.passwords["ada"])
        await settle(pilot)
        # A checkpoint, kept in a file.
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, CheckpointScreen)
        app.screen.query_one("#checkpoint-path", Input).value = str(tmp_path / "kept.json")
        await pilot.click("#save-checkpoint")
        await settle(pilot)
        assert "Checkpoint saved" in _text(app, "#verdict")
        kept = audit.read_checkpoint(tmp_path / "kept.json")
        assert (tmp_path / "kept.json").stat().st_mode & 0o777 == 0o600
        # An export of sam's events, as CSV: the filters in force apply.
        await _filter(pilot, actor="sam")
        await _start_export(pilot, tmp_path / "sam.csv", "csv")
        await settle(pilot)
        # Also in the file, whatever the filter: every user event and the export's own audit.exported.
        lines = (tmp_path / "sam.csv").read_text().splitlines()
        extra = [line for line in lines[1:-1] if line.split(",")[4] in audit.USER_ACTIONS | {"audit.exported"}]
        assert f"Exported {by_sam + len(extra)} events" in _text(app, "#verdict")
        assert len(lines) == 1 + by_sam + len(extra) + 1 and lines[-1].startswith("checkpoint,")
        assert all(line.split(",")[2] == "sam" for line in lines[1:-1] if line not in extra)
        assert CANARY not in (tmp_path / "sam.csv").read_text()
        bar = app.screen.query_one("#task-progress", ProgressBar)
        assert bar.total == by_sam + len(extra) and bar.progress == by_sam + len(extra)
        # An existing file is never overwritten.
        await _start_export(pilot, tmp_path / "sam.csv", "csv")
        assert isinstance(app.screen, ExportScreen) and "already exists" in _text(app, "#export-status")
        await pilot.press("escape")
        # Verify against the kept checkpoint and the export's own.
        verdict = await _verify(pilot, tmp_path / "kept.json")
        assert verdict.startswith("The audit log verifies") and "extends all 1 checkpoints" in verdict
        assert f"event {kept.seq:,}" in verdict
        # A checkpoint of another log: one sentence.
        (tmp_path / "foreign.json").write_text(json.dumps({"vault_id": "other", "seq": 1, "head": "00" * 32}))
        assert await _verify(pilot, tmp_path / "foreign.json") == "The checkpoint belongs to another vault."
    # An insider edits an event: the screen names the first bad one.
    with office.unlock(ADMIN) as admin, admin.engine.begin() as c:
        c.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        c.exec_driver_sql("UPDATE audit_events SET actor_id = 1 WHERE seq = 5")
    app = make_app(office.vault)
    async with app.run_test(size=(140, 40)) as pilot:
        await _login(pilot, "ada", office.passwords["ada"])
        await settle(pilot)
        verdict = await _verify(pilot)
        assert "does not verify" in verdict and verdict.endswith("The first bad event is 5.")
        assert app.screen.query_one("#verdict").has_class("error")


async def test_staff_reach_no_audit_or_users_screen(office: Built, tmp_path: Path) -> None:
    app = make_app(office.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "sam", office.passwords["sam"])
        await settle(pilot)
        assert app.workspaces() == [RecordsScreen]
        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, RecordsScreen)
        # Pushed by hand, the screens get the core's refusal and nothing else.
        app.push_screen(AuditScreen(app.session))
        await settle(pilot)
        assert _text(app, "#audit-status") == "Only an auditor or an admin can read the audit log."
        assert app.screen.query_one("#events", DataTable).row_count == 0
        await _start_export(pilot, tmp_path / "out.jsonl")
        await settle(pilot)
        assert _text(app, "#verdict").startswith("Only an auditor or an admin can export the audit log.")
        assert not (tmp_path / "out.jsonl").exists() and list(tmp_path.iterdir()) == [office.directory]
        assert await _verify(pilot) == "Only an auditor or an admin can verify the audit log."
        app.pop_screen()
        app.push_screen(UsersScreen(app.session))
        await settle(pilot)
        assert _text(app, "#users-status") == "Only an admin or an auditor can list users."
        assert app.screen.query_one("#users", DataTable).row_count == 0


async def test_the_admin_adds_disables_and_resets_users(office: Built) -> None:
    app = make_app(office.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, ADMIN, office.passwords[ADMIN])
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)  # an admin's home
        assert app.workspaces() == [UsersScreen, AuditScreen, RecordsScreen]
        table = app.screen.query_one("#users", DataTable)
        assert [str(table.get_row_at(r)[0]) for r in range(table.row_count)] == ["ada", ADMIN, "sam"]
        # Add: the roles ticked, the one-time password shown once.
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddUserScreen)
        await pilot.click("#confirm-add")
        await pilot.pause()
        assert "at least one role" in _text(app, "#add-user-status")
        app.screen.query_one("#new-username", Input).value = "Dee"
        roles = app.screen.query_one("#new-roles", SelectionList)
        roles.select("deputy_safeguarding_officer")
        roles.select("line_manager")
        await released(pilot, "#confirm-add")
        await pilot.click("#confirm-add")
        await settle(pilot)
        assert isinstance(app.screen, OneTimePasswordScreen)
        one_time = str(app.screen.query_one("#one-time-password", Static).render())
        await pilot.click("#done")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen) and "Added dee." in _text(app, "#users-status")
        assert one_time not in app.export_screenshot()
        row = table.get_row("dee")
        assert str(row[1]) == "deputy safeguarding officer, line manager" and str(row[3]) == "active"
        with office.vault.unlock("dee", one_time) as dee:
            assert dee.must_change_password and dee.roles == {"deputy_safeguarding_officer", "line_manager"}
        # Reset: a wrong recovery code is refused; the right one gives a new one-time password.
        table.move_cursor(row=table.get_row_index("dee"))
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ResetUserScreen)
        app.screen.query_one("#recovery-code", Input).value = "WRONG-CODE"
        await pilot.click("#confirm-reset")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        refusal = [n.message for n in app._notifications][-1]
        assert "recovery code" in refusal.lower() and "WRONG" not in refusal
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#recovery-code", Input).value = office.recovery_code
        await pilot.click("#confirm-reset")
        await settle(pilot)
        assert isinstance(app.screen, OneTimePasswordScreen)
        again = str(app.screen.query_one("#one-time-password", Static).render())
        await pilot.click("#done")
        await settle(pilot)
        with office.vault.unlock("dee", again) as dee:
            assert dee.must_change_password
        # Disable: confirmed, then they cannot unlock.
        table.move_cursor(row=table.get_row_index("dee"))
        await pilot.press("d")
        await pilot.pause()
        await pilot.click("#confirm-disable")
        await settle(pilot)
        assert str(table.get_row("dee")[3]).startswith("disabled")
        # The admin cannot disable themselves: one sentence.
        table.move_cursor(row=table.get_row_index(ADMIN))
        await pilot.press("d")
        await pilot.pause()
        await pilot.click("#confirm-disable")
        await settle(pilot)
        assert str(table.get_row(ADMIN)[3]) == "active"
        assert [n.message for n in app._notifications][-1] == "You cannot disable your own account; ask another admin."
        # f4: users, the audit log, records shared with the admin.
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
    with office.unlock("ada") as ada:
        actions = [e.action for e in ada.audit_page(limit=20)]
    assert {"user.added", "user.access_reset", "recovery.used", "user.disabled"} <= set(actions)


async def test_each_role_lands_on_its_own_home(office: Built) -> None:
    office.add("sofia", "safeguarding_officer", "admin")
    app = make_app(office.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "sofia", office.passwords["sofia"])
        await settle(pilot)
        assert isinstance(app.screen, OfficerScreen)
        assert app.workspaces() == [OfficerScreen, RecordsScreen, UsersScreen, AuditScreen]
        for expected in (RecordsScreen, UsersScreen, AuditScreen, OfficerScreen):
            await pilot.press("f4")
            await settle(pilot)
            assert isinstance(app.screen, expected)
        assert not app.screen.query(Button)  # the homes are keyboard lists, not forms


async def test_a_task_that_fails_unexpectedly_ends_and_says_so(office: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.session import Session

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("qzcanary in the message")

    app = make_app(office.vault)
    async with app.run_test(size=(140, 40)) as pilot:
        await _login(pilot, "ada", office.passwords["ada"])
        await settle(pilot)
        with monkeypatch.context() as m:
            m.setattr(Session, "audit_verify", broken)
            await _verify(pilot)
        assert isinstance(app.screen, AuditScreen) and not app.screen.task_running
        assert "stopped on an internal error" in _text(app, "#verdict")
        messages = [n.message for n in app._notifications]
        assert any("internal error (RuntimeError)" in m for m in messages)
        assert not any("qzcanary" in m for m in messages + [_text(app, "#verdict")])
        assert (await _verify(pilot)).startswith("The audit log verifies")  # the next task starts


async def test_a_one_time_password_waits_behind_hide_now_and_is_never_lost_silently(
        office: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.session import Session

    add_user = Session.add_user
    app = make_app(office.vault)

    def add_then_hide(self: Session, username: str, roles: list[str]) -> str:
        password = add_user(self, username, roles)
        app.call_from_thread(app.action_hide)  # f2 pressed while the user was being added
        return password

    monkeypatch.setattr(Session, "add_user", add_then_hide)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, ADMIN, office.passwords[ADMIN])
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#new-username", Input).value = "jo"
        app.screen.query_one("#new-roles", SelectionList).select("staff")
        await pilot.click("#confirm-add")
        await settle(pilot)
        assert isinstance(app.screen, HiddenScreen)  # nothing drawn over the blank screen
        assert not app.screen_stack[-2].query(OneTimePasswordScreen) and not isinstance(
            app.screen_stack[-2], OneTimePasswordScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OneTimePasswordScreen)  # shown once it is safe to
        password = str(app.screen.query_one("#one-time-password", Static).render())
        with office.vault.unlock("jo", password) as jo:
            assert jo.must_change_password
        await pilot.click("#done")
        await settle(pilot)
        # Locked while a user is added: the admin is told, without the password.
        shown: list[str] = []

        def add_then_lock(self: Session, username: str, roles: list[str]) -> str:
            password = add_user(self, username, roles)
            shown.append(password)
            app.call_from_thread(app.action_lock)  # ctrl+l pressed while the user was being added
            return password

        monkeypatch.setattr(Session, "add_user", add_then_lock)
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#new-username", Input).value = "kim"
        app.screen.query_one("#new-roles", SelectionList).select("staff")
        await pilot.click("#confirm-add")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        # The lock cancelled the screen's worker, but its thread finishes the add: wait for it.
        for _ in range(100):
            said = [n.message for n in app._notifications if n.message.startswith("Added kim.")]
            if said:
                break
            await pilot.pause(0.05)
        message = said[0]
        assert message.startswith("Added kim.") and "reset their password" in message
        assert shown[0] not in message and shown[0] not in app.export_screenshot()
        assert not any(isinstance(s, OneTimePasswordScreen | UsersScreen) for s in every_screen(app))
        # Another workspace chosen while a user is added: the password waits in the users workspace,
        # shown on coming back; or, if the vault locks first, the admin is told without it.
        shown.clear()

        def add_then_switch(self: Session, username: str, roles: list[str]) -> str:
            password = add_user(self, username, roles)
            shown.append(password)
            app.call_from_thread(app.action_workspace)  # f4 pressed while the user was being added
            return password

        monkeypatch.setattr(Session, "add_user", add_then_switch)
        await _login(pilot, ADMIN, office.passwords[ADMIN])
        await settle(pilot)
        for username in ("lee", "max"):
            assert isinstance(app.screen, UsersScreen)
            await pilot.press("a")
            await pilot.pause()
            app.screen.query_one("#new-username", Input).value = username
            app.screen.query_one("#new-roles", SelectionList).select("staff")
            await pilot.click("#confirm-add")
            await settle(pilot)
            assert isinstance(app.screen, AuditScreen)  # the password is not drawn over this one
            assert not any(isinstance(s, OneTimePasswordScreen) for s in every_screen(app))
            if username == "lee":
                await pilot.press("f4", "f4")  # records, then back to users
                await settle(pilot)
                assert isinstance(app.screen, OneTimePasswordScreen)
                assert str(app.screen.query_one("#one-time-password", Static).render()) == shown[0]
                await pilot.click("#done")
                await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        message = [n.message for n in app._notifications][-1]
        assert message.startswith("Added max.") and "reset their password" in message
        assert shown[1] not in message and shown[1] not in app.export_screenshot()


async def test_an_auditor_lists_users_but_cannot_change_them(office: Built) -> None:
    app = make_app(office.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "ada", office.passwords["ada"])
        await settle(pilot)
        assert app.workspaces() == [AuditScreen]
        app.push_screen(UsersScreen(app.session))
        await settle(pilot)
        assert app.screen.query_one("#users", DataTable).row_count == 3
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#new-username", Input).value = "mallory"
        app.screen.query_one("#new-roles", SelectionList).select("admin")
        await pilot.click("#confirm-add")
        await settle(pilot)
        assert [n.message for n in app._notifications][-1] == "Only an admin can manage users."
        assert isinstance(app.screen, UsersScreen) and app.screen.query_one("#users", DataTable).row_count == 3
