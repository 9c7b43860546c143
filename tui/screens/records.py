"""The records this user can read: metadata only, a page at a time, newest first.

A page is fetched in a worker with ``list_records(limit=PAGE, before=…)``, so a page costs
the same at 100 records or 100,000 and no widget ever holds the whole table. Protected
records say so (the list never shows a subject); urgent and immediate ones stand out.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header
from textual.worker import get_current_worker

from tui.messages import Done, Progress, RecordFound, RecordsPage, Refused
from tui.screens.base import VaultScreen, unlocked
from tui.screens.filters import FiltersScreen, describe
from tui.widgets.plain import DataTable, Input, Static, shown
from vault.errors import VaultError
from vault.record_text import local_time
from vault.session import Session

PAGE = 200
COLUMNS = ("Reference", "Status", "Category", "Urgency", "Protected", "Author", "Created", "Submitted")
URGENT_STYLE = {"immediate": "bold reverse red", "urgent": "bold red"}


def row_of(record: Any) -> tuple[Text, ...]:
    """A list row: metadata only, never text from the record. Every cell is a ``Text``, so that
    nothing in it is read as markup (and no cell pays for parsing it)."""
    urgency = shown(record.urgency.replace("_", " "), style=URGENT_STYLE.get(record.urgency, ""))
    return (shown(record.reference), shown(record.status), shown(record.category.replace("_", " ")), urgency,
            shown("protected" if record.protected else ""), shown(record.author), shown(local_time(record.created_at)),
            shown(local_time(record.submitted_at)[:10]))


class RecordsScreen(VaultScreen):
    """The records list."""

    BINDINGS = [
        Binding("n", "next_page", "Next page", id="next-page"),
        Binding("p", "previous_page", "Previous page", id="previous-page"),
        Binding("r", "reload", "Reload", id="reload"),
        Binding("enter", "open", "Open", id="open", show=True),
        Binding("w", "write", "Write a record", id="write"),
        Binding("f", "filter", "Filter", id="filter"),
        Binding("slash", "search", "Search", id="search"),
        Binding("escape", "end_search", "End search", id="end-search", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.cursors: list[int | None] = [None]  # the ``before`` of each page shown so far
        self.page: list[Any] = []
        self.filters: dict[str, str] = {}  # status, category, urgency: see tui.screens.filters

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="search the text of your records (enter to search, escape to close)",
                    id="search-box")
        yield Static("", id="records-status")
        table = DataTable(id="records", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search-box").display = False
        self.sub_title = f"{self.session.username} ({', '.join(sorted(self.session.roles))})"

    def on_screen_resume(self) -> None:
        """On arrival, and on coming back from writing or reading one: the list may have changed."""
        self.load(self.cursors[-1])

    @work(thread=True, exclusive=True, exit_on_error=False, description="Loading a page of records")
    def load(self, before: int | None) -> None:
        try:
            chosen = self.filters
            page = unlocked(self.session).list_records(limit=PAGE, before=before, status=chosen.get("status"),
                                                       category=chosen.get("category"), urgency=chosen.get("urgency"))
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(RecordsPage(page))

    @on(RecordsPage)
    def show_page(self, event: RecordsPage) -> None:
        if event.stale:  # a newer page was asked for meanwhile: it shows instead
            return
        self.page = page = event.records
        table = self.query_one("#records", DataTable)
        table.clear()
        for record in page:
            table.add_row(*row_of(record), key=str(record.id))
        number = len(self.cursors)
        more = " — n for the next page" if len(page) == PAGE else ""
        only = f" ({describe(self.filters)}; f to change)" if self.filters else ""
        self.show_status(f"Page {number}: {len(page)} records{only}{more}." if page else
                         f"No records match{only}." if self.filters and number == 1 else
                         "No records you can read yet." if number == 1 else "No more records.")
        table.focus()

    def show_status(self, text: str) -> None:
        self.query_one("#records-status", Static).update(text)

    @on(Refused)
    @on(Done)
    def said(self, event: Refused | Done) -> None:
        if not event.stale:
            self.show_status(event.sentence)

    def action_next_page(self) -> None:
        if len(self.page) == PAGE:
            self.cursors.append(self.page[-1].id)
            self.load(self.cursors[-1])

    def action_previous_page(self) -> None:
        if len(self.cursors) > 1:
            self.cursors.pop()
            self.load(self.cursors[-1])

    def action_reload(self) -> None:
        self.load(self.cursors[-1])

    def action_filter(self) -> None:
        def chosen(filters: dict[str, str] | None) -> None:
            if filters is not None:
                self.filters = filters
                self.cursors = [None]
                self.load(None)

        self.app.push_screen(FiltersScreen(self.filters), chosen)

    # --- search: in a worker, results streamed into the table, progress shown -----------------

    def action_search(self) -> None:
        box = self.query_one("#search-box", Input)
        box.display = True
        box.focus()

    def action_end_search(self) -> None:
        box = self.query_one("#search-box", Input)
        if box.display:
            self.workers.cancel_group(self, "search")
            box.value = ""
            box.display = False
            self.load(self.cursors[-1])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search-box":
            self.query_one("#records", DataTable).clear()
            self.run_search(event.value)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False, description="Searching records")
    def run_search(self, query: str) -> None:
        worker = get_current_worker()

        def progress(done: int, total: int) -> None:
            self.post_message(Progress(done, total))

        found = 0
        try:
            hits = unlocked(self.session).search_records(query, progress=progress,
                                                         cancelled=lambda: worker.is_cancelled)
            for record in hits:
                found += 1
                self.post_message(RecordFound(record))
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(Done(f"{found:,} records found. Escape ends the search."))

    @on(Progress)
    def searching(self, event: Progress) -> None:
        if not event.stale:
            self.show_status(f"Searching: {event.done:,} of {event.total:,} records…")

    @on(RecordFound)
    def add_result(self, event: RecordFound) -> None:
        if not event.stale:  # the search ended (escape) or another began: its hits are not listed
            record = event.record
            self.query_one("#records", DataTable).add_row(*row_of(record), key=str(record.id))

    def action_write(self) -> None:
        from tui.screens.compose import ComposeScreen
        from tui.screens.compose_steps import DangerScreen

        def answered(immediate: bool | None) -> None:
            if immediate is not None:
                self.app.push_screen(ComposeScreen(self.session, immediate=immediate))

        self.app.push_screen(DangerScreen(self.session), answered)

    def action_open(self) -> None:
        self.query_one("#records", DataTable).action_select_cursor()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from tui.screens.compose import ComposeScreen
        from tui.screens.record import RecordScreen

        if event.row_key.value is None:
            return
        record_id = int(event.row_key.value)
        summary = next((r for r in self.page if r.id == record_id), None)
        if summary is not None and summary.status == "draft" and summary.author == self.session.username:
            self.app.push_screen(ComposeScreen(self.session, reference=summary.reference))  # written on
        else:
            self.app.push_screen(RecordScreen(self.session, record_id))
