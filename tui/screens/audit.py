"""The auditor's workspace: the access log a page at a time, filtered by actor, action, record and
time; exporting it (CSV or JSON Lines) and verifying it, each in a worker with a progress bar that
`escape` cancels; saving a checkpoint and verifying against kept ones.

Everything here is events: who did what to which record, and when. No event holds record
content, and this screen never asks for any. Admins have the same screen.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, ProgressBar, Select
from textual.worker import Worker, WorkerState, get_current_worker

from tui.messages import Done, Integrity, LogPage, Progress, Refused
from tui.screens.base import Dialog, VaultScreen, unlocked
from tui.widgets.plain import DataTable, Input, Label, Static, TextArea, shown
from vault import audit
from vault.errors import VaultError
from vault.fsutil import atomic_writer
from vault.record_text import local_time
from vault.session import Session

PAGE = 200
FILTERS = (("actor", "who (a username)"), ("action", "what (e.g. record.viewed)"),
           ("record", "which record (reference or id)"), ("since", "from (e.g. 2026-11-01)"),
           ("until", "to (e.g. 2026-11-21T17:00Z)"))


def describe(filters: dict[str, str]) -> str:
    """The filters in force, for the screen's title ("" when none)."""
    return ", ".join(f"{name} {value}" for name, value in filters.items())


def new_file(text: str) -> Path:
    """A path a person typed, for a file that must not exist yet (nothing is overwritten)."""
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise VaultError("Give the file's name.")
    if path.exists():
        raise VaultError(f"{path} already exists: choose another name.")
    if not path.parent.is_dir():
        raise VaultError(f"There is no folder {path.parent}.")
    return path


def typed_new_file(dialog: Screen[Any], name: str) -> Path | None:
    """The new file typed in the dialog's ``#<name>-path``, or None with the reason shown in its
    ``#<name>-status``."""
    try:
        return new_file(dialog.query_one(f"#{name}-path", Input).value)
    except VaultError as exc:
        dialog.query_one(f"#{name}-status", Static).update(str(exc))
        return None


class AuditScreen(VaultScreen):
    """Home of auditors (and a workspace of admins): the log, newest first."""

    BINDINGS = [
        Binding("n", "older", "Older", id="older"),
        Binding("p", "newer", "Newer", id="newer"),
        Binding("f", "filters", "Filter", id="audit-filters"),
        Binding("e", "export", "Export", id="export"),
        Binding("v", "verify", "Verify", id="verify"),
        Binding("k", "checkpoint", "Save checkpoint", id="checkpoint"),
        Binding("c", "check_vault", "Check the vault", id="check-vault"),
        Binding("r", "reload", "Reload", id="reload-log", show=False),
        Binding("escape", "cancel_task", "Cancel", id="cancel-task", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.filters: dict[str, str] = {}
        self.befores: list[int | None] = [None]  # the page shown: events before befores[-1]
        self.oldest_shown: int | None = None
        self.task_running = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="audit-status")
        yield Static("", id="integrity")
        yield Label("The access log (newest first)", classes="title", id="log-title")
        table = DataTable(id="events", cursor_type="row", zebra_stripes=True)
        table.add_columns("Event", "Time", "Who", "What", "Record", "Object", "Details")
        yield table
        with Horizontal(id="task"):
            yield Label("", id="task-label")
            yield ProgressBar(id="task-progress", show_eta=True)
        yield Static("", id="verdict")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.session.username}: audit log"
        self.query_one("#task").display = False
        self.load()
        self.load_integrity()

    @work(thread=True, exclusive=True, group="integrity", exit_on_error=False, description="Reading the last check")
    def load_integrity(self) -> None:
        try:
            sentence = unlocked(self.session).integrity()
        except VaultError as exc:
            sentence = str(exc)
        self.post_message(Integrity(sentence))

    @on(Integrity)
    def show_integrity(self, event: Integrity) -> None:
        self.query_one("#integrity", Static).update(event.sentence)

    # --- pages --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="page", exit_on_error=False, description="Reading the log")
    def load(self, befores: list[int | None] | None = None, filters: dict[str, str] | None = None) -> None:
        """Show the page ``befores[-1]`` (default: the one shown) under ``filters`` (default: those in
        force). Both change only once the page is read: a refused filter keeps the last ones."""
        befores = self.befores if befores is None else befores
        filters = self.filters if filters is None else filters
        try:
            entries = unlocked(self.session).audit_page(limit=PAGE, before=befores[-1], **filters)
        except VaultError as exc:
            self.post_message(Refused(f"{exc} The filters were not changed." if filters != self.filters else str(exc)))
        else:
            self.post_message(LogPage(entries, befores, filters))

    @on(LogPage)
    def show_page(self, event: LogPage) -> None:
        if event.stale:  # a newer page was asked for meanwhile: it shows instead
            return
        entries, befores, filters = event.entries, event.befores, event.filters
        if not entries and len(befores) > 1:
            self.show_status("There are no older events.")
            return
        self.befores, self.filters = befores, filters
        table = self.query_one("#events", DataTable)
        table.clear()
        for e in entries:
            details = json.dumps(e.properties, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
            if e.problem:  # a bad event is shown in place, marked, and never stops the page
                details = f"NOT VERIFIED: {e.problem}"
            table.add_row(shown(str(e.seq)), shown(local_time(e.at)), shown(e.actor), shown(e.action),
                          shown("" if e.record_id is None else str(e.record_id)), shown(e.object or ""),
                          shown(details[:200], one_line=True), key=str(e.seq))
        self.oldest_shown = entries[-1].seq if entries else None
        where = f" where {describe(filters)}" if filters else ""
        self.query_one("#log-title", Label).update(f"The access log{where} (newest first)")
        span = f"events {entries[-1].seq:,} to {entries[0].seq:,}" if entries else "no events"
        more = "; n for older" if len(entries) == PAGE else ""
        self.show_status(f"Page {len(befores)}: {span}{more}.")
        table.focus()

    def show_status(self, text: str) -> None:
        self.query_one("#audit-status", Static).update(text)

    @on(Refused)
    def refused(self, event: Refused) -> None:
        self.show_status(event.sentence)

    def action_older(self) -> None:
        if self.oldest_shown is None or self.query_one("#events", DataTable).row_count < PAGE:
            self.show_status("There are no older events.")
            return
        self.load([*self.befores, self.oldest_shown])

    def action_newer(self) -> None:
        if len(self.befores) == 1:
            self.show_status("This is the newest page.")
            return
        self.load(self.befores[:-1])

    def action_reload(self) -> None:
        self.load([None])

    def action_filters(self) -> None:
        def chosen(filters: dict[str, str] | None) -> None:
            if filters is not None:
                self.load([None], filters)

        self.app.push_screen(LogFiltersScreen(self.filters), chosen)

    # --- export, verify, checkpoint: one task at a time, with a progress bar ----------------

    def busy(self) -> bool:
        """Whether a task runs (one at a time); if so, say so."""
        if self.task_running:
            self.show_status(f"{self.task_running} is still running: escape cancels it.")
        return bool(self.task_running)

    def begin_task(self, label: str, *, cancellable: bool = True) -> bool:
        if self.busy():
            return False
        self.task_running = label
        self.query_one("#verdict", Static).update("")
        self.query_one("#task-label", Label).update(f"{label}…{' (escape cancels)' if cancellable else ''} ")
        self.query_one("#task-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#task").display = True
        return True

    @on(Progress)
    def task_progress(self, event: Progress) -> None:
        if not self.is_attached:  # locked meanwhile: the screen is gone
            return
        self.query_one("#task-progress", ProgressBar).update(total=max(event.total, 1), progress=event.done)

    @on(Done)
    def task_done(self, event: Done) -> None:
        self.end_task(event.sentence, ok=event.ok)

    def end_task(self, sentence: str, *, ok: bool | None = None) -> None:
        self.task_running = ""
        if not self.is_attached:
            return
        self.query_one("#task").display = False
        verdict = self.query_one("#verdict", Static)
        verdict.set_class(ok is False, "error")
        verdict.set_class(ok is True, "good")
        verdict.update(sentence)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A task that failed on something unexpected must not leave the screen thinking it runs."""
        if event.state == WorkerState.ERROR and event.worker.group == "task":
            self.end_task(f"{self.task_running or 'That'} stopped on an internal error; "
                          "if it was an export, no file was written.", ok=False)

    def action_cancel_task(self) -> None:
        if self.task_running:
            self.workers.cancel_group(self, "task")
        else:
            self.show_status("Nothing is running.")

    def _report(self, done: int, total: int) -> None:
        self.post_message(Progress(done, total))

    def action_export(self) -> None:
        if self.busy():
            return
        filters = dict(self.filters)

        def chosen(answer: dict[str, str] | None) -> None:
            if answer and self.begin_task("Exporting the log"):
                self.export(Path(answer["path"]), answer["format"], filters)

        self.app.push_screen(ExportScreen(filters), chosen)

    @work(thread=True, exclusive=True, group="task", exit_on_error=False, description="Exporting the log")
    def export(self, path: Path, fmt: str, filters: dict[str, str]) -> None:
        worker = get_current_worker()
        try:
            session = unlocked(self.session)
            with atomic_writer(path, new=True) as fh:
                count, cp = session.audit_export(fh, fmt, progress=self._report,
                                                 cancelled=lambda: worker.is_cancelled, **filters)
        except VaultError as exc:
            self.post_message(Done(f"{exc} No file was written.", ok=False))
        except FileExistsError:
            self.post_message(Done(f"{path} appeared meanwhile; it was left as it was and nothing was written.",
                                   ok=False))
        except OSError as exc:
            self.post_message(Done(f"{path} could not be written ({exc.strerror}).", ok=False))
        else:
            self.post_message(Done(f"Exported {count:,} events to {path}, ending with the checkpoint at event "
                                   f"{cp.seq:,} (head {cp.head.hex()[:16]}…). The export is itself in the log."))

    def action_verify(self) -> None:
        if self.busy():
            return

        def chosen(paths: list[str] | None) -> None:
            if paths is not None and self.begin_task("Verifying the log"):
                self.verify([Path(p).expanduser() for p in paths])

        self.app.push_screen(VerifyScreen(), chosen)

    @work(thread=True, exclusive=True, group="task", exit_on_error=False, description="Verifying the log")
    def verify(self, paths: list[Path]) -> None:
        worker = get_current_worker()
        try:
            session = unlocked(self.session)
            kept = [audit.read_checkpoint(p) for p in paths]
            result = session.audit_verify(kept, progress=self._report, cancelled=lambda: worker.is_cancelled)
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
        else:
            self.post_message(Done(verdict(result, kept), ok=result.ok))

    def action_check_vault(self) -> None:
        if self.begin_task("Checking the vault"):
            self.check_vault()

    @work(thread=True, exclusive=True, group="task", exit_on_error=False, description="Checking the vault")
    def check_vault(self) -> None:
        """Every page, SQLite's structure, the log, and every table against the signed log; the
        verdict, then each difference the check names on its own line."""
        worker = get_current_worker()
        try:
            result = unlocked(self.session).check(progress=self._report, cancelled=lambda: worker.is_cancelled)
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
        else:
            self.post_message(Done("\n".join([result.sentence(), *result.differences[1:]]), ok=result.ok))
        self.load_integrity()

    def action_checkpoint(self) -> None:
        if self.busy():
            return

        def chosen(answer: dict[str, str] | None) -> None:
            if answer and self.begin_task("Saving a checkpoint", cancellable=False):
                self.save_checkpoint(Path(answer["path"]))

        self.app.push_screen(CheckpointScreen(), chosen)

    @work(thread=True, exclusive=True, group="task", exit_on_error=False, description="Saving a checkpoint")
    def save_checkpoint(self, path: Path) -> None:
        try:
            cp = unlocked(self.session).audit_checkpoint()
            with atomic_writer(path, new=True) as fh:
                fh.write(cp.to_json() + "\n")
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
        except FileExistsError:
            self.post_message(Done(f"{path} appeared meanwhile; it was left as it was.", ok=False))
        except OSError as exc:
            self.post_message(Done(f"{path} could not be written ({exc.strerror}).", ok=False))
        else:
            self.post_message(Done(f"Checkpoint saved to {path}: event {cp.seq:,}, head {cp.head.hex()[:16]}…. "
                                   "Keep it where the vault's users cannot change it; v verifies against it."))


def verdict(result: audit.VerifyResult, kept: list[audit.Checkpoint]) -> str:
    """The plain verdict of a verification, naming the first bad event if there is one."""
    if not result.ok:
        return f"{result.sentence()} The first bad event is {result.first_bad_seq:,}."
    if not kept:
        return f"{result.sentence()} (no checkpoint given)."
    newest = max(kept, key=lambda cp: cp.seq)
    return (f"{result.sentence()} It extends all {len(kept)} checkpoints given; the newest, event {newest.seq:,} "
            f"of {newest.at or 'an unknown time'}, has {result.head_seq - newest.seq:,} events after it.")


class LogFiltersScreen(Dialog[dict[str, str] | None]):
    """Filter the log by actor, action, record and time; returns the filters (empty: none)."""

    def __init__(self, current: dict[str, str]) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="log-filters-box", classes="dialog"):
            yield Label("Show only the events…", classes="title")
            for name, placeholder in FILTERS:
                yield Input(self.current.get(name, ""), placeholder=placeholder, id=f"filter-{name}")
            with Horizontal():
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear all", id="clear")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted)
    def apply(self) -> None:
        values = {name: self.query_one(f"#filter-{name}", Input).value.strip() for name, _ in FILTERS}
        self.dismiss({name: value for name, value in values.items() if value})

    @on(Button.Pressed, "#clear")
    def clear(self) -> None:
        self.dismiss({})


class ExportScreen(Dialog[dict[str, str] | None]):
    """Where to export, and in which format; the filters in force apply."""

    def __init__(self, filters: dict[str, str]) -> None:
        super().__init__()
        self.filters = filters

    def compose(self) -> ComposeResult:
        where = describe(self.filters) or "none: the whole log"
        with Vertical(id="export-box", classes="dialog"):
            yield Label("Export the log", classes="title")
            yield Static(f"Filters: {where}. The file (0600) appears only when complete and ends with "
                         "the head checkpoint.")
            yield Select([("JSON Lines", "jsonl"), ("CSV", "csv")], value="jsonl", allow_blank=False,
                         id="export-format")
            yield Input(str(Path.home() / f"incident-vault-audit-{date.today().isoformat()}.jsonl"),
                        placeholder="file to write", id="export-path")
            with Horizontal():
                yield Button("Export", variant="primary", id="start-export")
                yield Button("Cancel", id="cancel")
            yield Static("", id="export-status", classes="status")

    @on(Select.Changed, "#export-format")
    def suffix(self, event: Select.Changed) -> None:
        box = self.query_one("#export-path", Input)
        path = Path(box.value)
        if path.suffix in (".jsonl", ".csv"):
            box.value = str(path.with_suffix(f".{event.value}"))

    @on(Button.Pressed, "#start-export")
    @on(Input.Submitted)
    def start(self) -> None:
        path = typed_new_file(self, "export")
        if path is not None:
            self.dismiss({"path": str(path), "format": str(self.query_one("#export-format", Select).value)})


class CheckpointScreen(Dialog[dict[str, str] | None]):
    """Where to keep a checkpoint (the log's length and head hash, now)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="checkpoint-box", classes="dialog"):
            yield Label("Save a checkpoint", classes="title")
            yield Static("The log's length and head hash as of now. Keep the file where the vault's users "
                         "cannot reach it (another machine, a signed email): a later verification shows "
                         "whether the log was changed or rolled back since.")
            yield Input(str(Path.home() / f"incident-vault-checkpoint-{date.today().isoformat()}.json"),
                        placeholder="file to write", id="checkpoint-path")
            with Horizontal():
                yield Button("Save", variant="primary", id="save-checkpoint")
                yield Button("Cancel", id="cancel")
            yield Static("", id="checkpoint-status", classes="status")

    @on(Button.Pressed, "#save-checkpoint")
    @on(Input.Submitted)
    def save(self) -> None:
        path = typed_new_file(self, "checkpoint")
        if path is not None:
            self.dismiss({"path": str(path)})


class VerifyScreen(Dialog[list[str] | None]):
    """Verify the chain and every signature, and that the log extends the checkpoints named."""

    def compose(self) -> ComposeResult:
        with Vertical(id="verify-box", classes="dialog"):
            yield Label("Verify the log", classes="title")
            yield Static("Checks the hash chain and every signature. To compare with checkpoints kept "
                         "earlier (checkpoint files or JSON Lines exports), name them below, one per line.")
            yield TextArea(id="checkpoint-files")
            with Horizontal():
                yield Button("Verify", variant="primary", id="start-verify")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#start-verify", Button).focus()

    @on(Button.Pressed, "#start-verify")
    def start(self) -> None:
        text = self.query_one("#checkpoint-files", TextArea).text
        self.dismiss([line.strip() for line in text.splitlines() if line.strip()])

