"""Keys go where the user typed them, however fast they arrive.

Textual hands each key to the widget focused *when the app reads it*, while what a key sets off
happens later: Tab reaches the app's bindings only after bubbling up from the focused widget,
and Enter in a field posts a message whose handler moves the focus. Keys that arrive in one burst
(a password manager, a fast typist, a paste of keystrokes over SSH) are all handed on before
then, so text typed after Tab landed in the field the user had left, and a password typed after
the username landed in the username box, in clear.

:class:`KeyGate` hands keys on one at a time: the next key waits until everything the last one
set off has settled (the widgets it went to and the screen have handled their messages, the app
has run what they queued, a new screen is mounted). A key never waits longer than
``SETTLE_LIMIT_S``, so the terminal never stops answering.

It reads two private attributes of Textual's message pumps (``_message_queue`` and
``_mounted_event``), and follows a key by posting a callback behind it to each node it may
bubble through; Textual's version is pinned in ``pyproject.toml`` and
``tests/tui/test_type_ahead.py`` fails if either stops working.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import Any

from textual import events
from textual.app import App
from textual.dom import DOMNode

from tui.widgets.plain import Input, TextArea

SETTLE_LIMIT_S = 2.0
POLL_S = 0.005
QUIET_ROUNDS = 2  # rounds in a row with nothing left to handle before the next key goes


def _chain(node: DOMNode | None) -> list[DOMNode]:
    """``node`` and its ancestors up to (not including) the app."""
    out: list[DOMNode] = []
    while node is not None and not isinstance(node, App):
        out.append(node)
        node = node.parent
    return out


def _live(node: DOMNode) -> bool:
    """A node that will still handle messages (not one of a screen just dismissed)."""
    return node.is_attached and not (node._closing or node._closed)


class KeyGate:
    """Hands keys to ``dispatch`` one at a time, each once the one before has settled."""

    def __init__(self, app: App[Any], dispatch: Callable[[events.Key | events.Paste], Awaitable[Any]]) -> None:
        self.app = app
        self.dispatch = dispatch
        self.held: deque[events.Key | events.Paste] = deque()
        self.busy = False
        self._settling: asyncio.Task[None] | None = None

    async def arrive(self, key: events.Key | events.Paste) -> None:
        """A key (or a paste) read from the terminal: hand it on now, or after the ones before it."""
        self.held.append(key)
        await self._next()

    async def _next(self) -> None:
        if self.busy or not self.held:
            return
        key = self.held.popleft()
        self.busy = True
        target = self.app.focused or self.app.screen
        try:
            await self.dispatch(key)
        finally:
            typed = isinstance(key, events.Paste) or key.is_printable
            typing = typed and isinstance(target, Input | TextArea)
            self._settling = asyncio.create_task(self._settle(target, typing), name="key gate")

    async def _settle(self, target: DOMNode, typing: bool) -> None:
        deadline = monotonic() + SETTLE_LIMIT_S
        quiet = 0
        try:
            if typing:  # a character typed into a field: the field takes it and nothing else follows
                await self._round_trip(target, deadline)
                return
            while quiet < QUIET_ROUNDS and monotonic() < deadline:
                before = (self.app.screen, self.app.focused)
                # Deepest first, so that a key or message bubbling up is followed all the way; each
                # round waits for what was queued before it, so a screen that stays busy (a search
                # streaming its results) does not hold the next key back.
                around = (*_chain(target), *_chain(self.app.focused), self.app.screen)
                for node in [n for n in {id(n): n for n in around}.values() if _live(n)]:
                    await self._round_trip(node, deadline)
                await self._round_trip(self.app, deadline)
                changed = (self.app.screen, self.app.focused) != before
                quiet = 0 if changed else quiet + 1
        finally:
            if self.app.is_running:
                self.app.call_later(self._done)

    @staticmethod
    async def _round_trip(node: DOMNode, deadline: float) -> None:
        """Wait until ``node`` has handled everything queued for it before now and is mounted,
        or is gone (a dialog just dismissed never handles what was queued for it)."""
        done = asyncio.get_running_loop().create_future()

        def arrived() -> None:
            if not done.done():
                done.set_result(None)

        node.call_later(arrived)
        while not (done.done() and node._mounted_event.is_set()):
            if monotonic() >= deadline or not (node is node.app or _live(node)):
                done.cancel()
                return
            await asyncio.wait((done,), timeout=POLL_S)

    async def _done(self) -> None:
        self.busy = False
        await self._next()
