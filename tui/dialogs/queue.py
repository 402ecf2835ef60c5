"""``QueueDialog``: the outgoing queue from the mail-server screen (Ctrl+O): the waiting
and failed mails, send now, retry or drop the selected one, the recent history.

It talks to a :class:`mailer.queue.Queue` (the service), never to the spool's files;
sending runs in a worker thread, the screen stays live.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from config.i18n import _
from config.model import Settings
from config.text import visible
from mailer.queue import age_text
from tui.dialogs.base import Dialog

HISTORY_LINES = 6


def summary_line(info: dict[str, Any]) -> str:
    """The screen's one line: N waiting, N failed, the oldest, the last error."""
    text = _("Queue: {waiting} waiting, {failed} failed").format(
        waiting=info["waiting"], failed=info["failed"])
    if info["waiting"]:
        text += _(", oldest {age}").format(age=age_text(info["oldest_seconds"]))
    error = info.get("last_error")
    if error:
        text += _("; last error: {message} {advice}").format(
            message=error.get("message", ""), advice=error.get("advice", ""))
    return text


class QueueDialog(Dialog[None]):
    """The waiting and failed mails; s sends now, r retries, d drops the selected one
    (in English; each button shows its letter in the active language)."""

    # The buttons' letters (first free letter of each label in the active
    # language: s/r/d in English) press them: Dialog.button(letter=True).
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, spool: Any, settings: Settings, *, flush: bool = False) -> None:
        super().__init__()
        self.spool = spool
        self.settings = settings
        self.flush_at_start = flush
        self.entries: list[dict[str, Any]] = []
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(_("Outgoing queue"), classes="dialog-title")
            yield Static(id="queue-summary")
            yield OptionList(id="queue-entries", classes="steps")
            yield Static(id="queue-detail")
            yield Static(_("Recent history"), classes="note")
            yield Static(id="queue-history")
            yield Static(id="result")
            with Horizontal(classes="buttons"):
                yield self.button(_("Send now"), "flush", letter=True)
                yield self.button(_("Retry"), "retry", letter=True)
                yield self.button(_("Drop"), "drop", letter=True)
                yield self.button(_("Close (Esc)"), "close")

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#queue-entries", OptionList).focus()
        if self.flush_at_start:
            self.action_flush()

    def reload(self) -> None:
        self.entries = self.spool.entries()
        info = self.spool.summary()
        self.query_one("#queue-summary", Static).update(Text(summary_line(info)))
        options = self.query_one("#queue-entries", OptionList)
        keep = options.highlighted
        options.clear_options()
        for e in self.entries:
            state = _("waiting") if e["state"] == "waiting" else _("failed")
            error = e["last_error"]
            line = (f"{state:<8} {e['attempts']:>2}x  {age_text(e['age_seconds']):>7}  "
                    f"{', '.join(e['recipients'])}")
            if error:
                line += f"  ({error['cls']})"
            options.add_option(Option(Text(visible(line)), id=e["id"]))  # data: addresses
        if not self.entries:
            options.add_option(Option(Text(_("(the queue is empty)")), disabled=True))
        else:
            options.highlighted = min(keep or 0, len(self.entries) - 1)
        history = Text()
        for r in self.spool.history(HISTORY_LINES):
            if history:
                history.append("\n")
            history.append(visible(f"{r.get('time', '')[11:19]}  {r.get('result', ''):<8} "
                                   f"{r.get('class', '')} {r.get('code') or ''}  "
                                   f"{','.join(r.get('recipient_domains', []))}"))
        self.query_one("#queue-history", Static).update(history or Text("-"))

    def selected(self) -> str | None:
        options = self.query_one("#queue-entries", OptionList)
        index = options.highlighted
        if index is None or not self.entries or index >= len(self.entries):
            return None
        return str(self.entries[index]["id"])

    def say(self, text: str, *, error: bool = False) -> None:
        result = self.query_one("#result", Static)
        result.update(Text(visible(text)))  # may quote an exception's text
        result.set_class(error, "-error")

    # -- actions -----------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(None)

    def action_flush(self) -> None:
        if self.sending:
            return
        self.sending = True
        self.say(_("Sending the waiting mails..."))
        self._flush()

    @work(thread=True, exclusive=True, group="queue-flush")
    def _flush(self) -> None:
        try:
            result = self.spool.deliver(self.settings, force=True)
            text = _("sent {sent}, waiting {deferred}, failed {failed}").format(
                sent=len(result.sent), deferred=len(result.deferred),
                failed=len(result.failed))
            error = bool(result.deferred or result.failed)
        except Exception as exc:  # a bug: shown, the mails stay queued
            text, error = f"{type(exc).__name__}: {exc}", True
        self.app.call_from_thread(self._flushed, text, error)

    def _flushed(self, text: str, error: bool) -> None:
        self.sending = False
        self.reload()
        self.say(text, error=error)

    def action_retry(self) -> None:
        ident = self.selected()
        if ident is None:
            return
        if self.spool.retry(ident):
            self.say(_("{id}: back to waiting").format(id=ident))
        else:
            self.say(_("{id}: not in the queue, not failed, or being sent right now").format(
                id=ident), error=True)
        self.reload()

    def action_drop(self) -> None:
        ident = self.selected()
        if ident is None:
            return
        if self.spool.drop(ident):
            self.say(_("{id}: dropped").format(id=ident))
        else:
            self.say(_("{id}: not in the queue, or being sent right now").format(id=ident),
                     error=True)
        self.reload()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        action = {"flush": self.action_flush, "retry": self.action_retry,
                  "drop": self.action_drop, "close": self.action_close}.get(event.button.id or "")
        if action is not None:
            action()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        """The highlighted mail's last error and what to do about it."""
        ident = self.selected()
        entry = next((e for e in self.entries if e["id"] == ident), None)
        detail = ""
        if entry and entry["last_error"]:
            detail = f"{entry['last_error']['message']} {entry['advice']}".strip()
        self.query_one("#queue-detail", Static).update(Text(visible(detail)))  # server text
