"""The "Admin > Server > Mail-Server" screen (elements M1-M15).

The screen holds no state of its own beyond the widgets: the values on screen
are turned into a :class:`config.model.Settings` with :meth:`current`, checked
with the settings service's ``validate`` as the admin types, and handed to the
service (save) or the mailer (test mail).  It never opens files or sockets.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from config import presets
from config.errors import (
    ConfigConflictError,
    ConfigError,
    ConfigInvalidError,
)
from config.i18n import _, ascii_only
from config.model import SECRET_KEYS, Settings, Value, field_help, field_short_help
from config.service import SettingsService
from config.text import visible
from config.validate import Problem
from mailer.queue import Queue
from mailer.report import Report
from tui import dialogs
from tui.widgets import (
    Choice,
    ChoiceButton,
    FieldInput,
    GuardedCheckbox,
    PasswordInput,
    Tick,
    more_sign,
)

# The fields on this screen, top to bottom: (key path, kind).
# kind: "input", "password", "check", "choice:<v1>,<v2>,...", "yesno".
FORM_KEYS: tuple[str, ...] = (
    "mail.relay",
    "mail.sender",
    "mail.sender_name",
    "mail.html",
    "mail.smtp.server",
    "mail.smtp.security",
    "mail.smtp.verify_certificates",
    "mail.smtp.authentication",
    "mail.pop3.enabled",
    "mail.pop3.server",
    "mail.smtp.auth_method",
    "mail.smtp.username",
    "mail.smtp.password",
    "mail.smtp.oauth2.client_id",
    "mail.smtp.oauth2.tenant",
    "mail.smtp.oauth2.client_secret",
    "mail.smtp.oauth2.key_file",
    "appliance.deployment",
    # Advanced (issue 14): every setting the mailer's advice names is on screen
    "mail.test_recipient",
    "mail.smtp.ca_file",
    "mail.smtp.timeout",
    "mail.smtp.ehlo_name",
    "mail.smtp.allow_plaintext_auth",
    "mail.internal.sendmail",
)
# The OAuth2 fields, shown while the login method is OAuth2; the endpoints,
# scope and flow come with a provider preset (or the CLI/the file).
OAUTH_KEYS = ("mail.smtp.oauth2.client_id", "mail.smtp.oauth2.tenant",
              "mail.smtp.oauth2.client_secret", "mail.smtp.oauth2.key_file")

# The timeout as a radio row (never a number to parse); a saved value not in
# the list is shown as one more choice.
TIMEOUTS = ("15", "30", "60", "120")

EXTERNAL_KEYS = frozenset(k for k in FORM_KEYS if k.startswith(("mail.smtp.", "mail.pop3.")))


def wid(key: str) -> str:
    """Widget id of the field for ``key``."""
    return "f-" + key.replace(".", "-")


def key_of(widget_id: str | None) -> str | None:
    if not widget_id or not widget_id.startswith("f-"):
        return None
    want = widget_id
    for key in FORM_KEYS:
        if wid(key) == want:
            return key
    return None


def labels() -> dict[str, str]:
    """Field labels, translated at call time."""
    return {
        "mail.relay": _("Mail server"),
        "mail.sender": _("Sender address"),
        "mail.sender_name": _("Sender name"),
        "mail.html": _("HTML e-mails"),
        "mail.smtp.server": _("SMTP server"),
        "mail.smtp.security": _("Security"),
        "mail.smtp.verify_certificates": _("Certificates"),
        "mail.smtp.authentication": _("SMTP with authentication"),
        "mail.smtp.auth_method": _("Login method"),
        "mail.smtp.oauth2.client_id": _("Client ID"),
        "mail.smtp.oauth2.tenant": _("Tenant"),
        "mail.smtp.oauth2.client_secret": _("Client secret"),
        "mail.smtp.oauth2.key_file": _("Key file"),
        "mail.pop3.enabled": _("SMTP after POP3"),
        "mail.pop3.server": _("POP3 server"),
        "mail.smtp.username": _("User name"),
        "mail.smtp.password": _("Password"),
        "appliance.deployment": _("Deployment"),
        # the same words as mailer.diagnosis.LABELS, which the advice uses
        "mail.test_recipient": _("Test recipient"),
        "mail.smtp.ca_file": _("CA file"),
        "mail.smtp.timeout": _("Timeout"),
        "mail.smtp.ehlo_name": _("EHLO name"),
        "mail.smtp.allow_plaintext_auth": _("Login without encryption"),
        "mail.internal.sendmail": _("Sendmail program"),
    }


def shown_value(key: str, value: Value) -> str:
    """``value`` of ``key`` in the screen's words: the option's label, yes/no for
    a tick box, "(empty)"; never a password."""
    if key == "mail.smtp.password":
        return _("set") if value else _("(empty)")
    options = {
        "mail.relay": {"internal": _("internal"), "external": _("external")},
        "mail.smtp.security": {"tls": "TLS", "starttls": "STARTTLS", "none": _("unencrypted")},
        "appliance.deployment": {"on-premises": _("on-premises"), "cloud": _("cloud")},
    }.get(key)
    if options is not None:
        return options.get(str(value), str(value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value == "":
        return _("(empty)")
    return str(value)


def describe_changes(old: Settings, new: Settings) -> list[tuple[str, str, str]]:
    """(label, old, new) per changed setting, in the form's order, in the
    screen's words; a changed secret is ("Password", "", "changed")."""
    lab = labels()
    keys = old.changed_keys(new)
    keys.sort(key=lambda k: FORM_KEYS.index(k) if k in FORM_KEYS else len(FORM_KEYS))
    out = []
    for key in keys:
        before, after = old.get(key), new.get(key)
        if key in SECRET_KEYS:  # the password, the OAuth2 client secret: never shown
            word = _("removed") if not after else _("set") if not before else _("changed")
            out.append((lab[key], "", word))
        else:
            out.append((lab.get(key, key), shown_value(key, before), shown_value(key, after)))
    return out


def _label_pieces(label: str) -> list[str]:
    """``label`` split where it may wrap: after spaces and hyphens."""
    import re

    return [p for p in re.split(r"(?<=-)|\s+", label) if p]


def _wrap_label(label: str, width: int) -> str:
    """``label`` on as many lines of ``width`` cells as it needs (split after
    spaces and hyphens; "E-Mail-" stays whole as far as it can)."""
    lines: list[str] = []
    line = ""
    for piece in _label_pieces(label):
        joiner = "" if not line or line.endswith("-") else " "
        if line and cell_len(line + joiner + piece) > width:
            lines.append(line)
            line = piece
        else:
            line += joiner + piece
    lines.append(line)
    return "\n".join(lines)


def ellipsis() -> str:
    """The sign that text was cut: one character where the terminal has it."""
    return "..." if ascii_only() else "\u2026"


def fit(text: Text, width: int, max_lines: int, *, more: str = "") -> Text:
    """``text`` wrapped at ``width``; more than ``max_lines`` lines are cut with a
    sign (an ellipsis and ``more``, e.g. "F1: all of it") at the end of the last
    line kept, so nothing is ever cut without one."""
    from rich.console import Console

    width = max(width, 10)
    console = Console(width=width, legacy_windows=False, color_system=None)
    lines = text.wrap(console, width)
    if len(lines) <= max_lines:
        return text
    sign = ellipsis() + (" " + more if more else "")
    last = lines[max_lines - 1]
    last.right_crop(max(0, cell_len(last.plain) + cell_len(sign) - width))
    last.rstrip()
    last.append(sign, style="bold")
    out = Text()
    for i, line in enumerate(lines[:max_lines]):
        if i:
            out.append("\n")
        out.append_text(line)
    return out


class FieldRow(Horizontal):
    """One label + widget line."""


class ProblemLine(Static):
    """The inline errors and warnings of one field (hidden when none)."""


class MailServerScreen(Screen[None]):
    """The mail-server settings form."""

    CSS_PATH = "mail_server.tcss"
    # -tiny: below 72 columns the label column is narrower and long labels wrap
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (72, "-narrow"), (110, "-wide")]
    AUTO_FOCUS = "#f-mail-relay"

    # A focus move repaints only the two widgets involved, not the whole
    # screen (measured: 4.1 KB -> 0.9 KB per Tab on a serial line).
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+t", "test_mail", "Test mail", priority=True),
        Binding("ctrl+r", "revert", "Revert", priority=True),
        Binding("ctrl+f", "fix", "Apply fix", priority=True),
        Binding("escape", "escape", "Quit"),
        Binding("f1,ctrl+g", "help", "Help", priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+l", "redraw", "Redraw", priority=True),
        Binding("ctrl+o", "queue", "Queue", show=False, priority=True),
        # priority, as Tab (tui/start.py): the focus moves before the
        # next key typed ahead is routed
        Binding("down", "app.focus_next", show=False, priority=True),
        Binding("up", "app.focus_previous", show=False, priority=True),
    ]

    def __init__(self, service: SettingsService, mailer: Any, *,
                 demo_note: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.mailer = mailer
        self.demo_note = demo_note
        self.loaded: Settings = Settings()
        # keys a provider preset set that have no field (OAuth2 endpoints, scope, flow)
        self.extra: dict[str, Value] = {}
        self.problems: list[Problem] = []
        self._filling = False
        # The settings the status line's message is about (None: about none in
        # particular): any change to the form clears it, so a message never
        # outlives the state it describes.
        self._status_for: Settings | None = None
        self._esc_armed = False
        self._help_text = Text()
        self._shown: Settings = self.loaded  # the settings refresh_state showed last
        # Start with the breakpoint class of the terminal's width: the first
        # Resize then changes no class, and Textual skips restyling the whole
        # screen before the first paint (~30-80 ms, bench/startup.py).
        try:
            width = self.app.size.width
        except Exception:  # not inside a running app: the first Resize sets it
            width = -1
        for minimum, name in sorted(self.HORIZONTAL_BREAKPOINTS, reverse=True):
            if width >= minimum:  # the rule of Screen._get_breakpoint_classes
                self.add_class(name)
                break

    # -- layout ------------------------------------------------------------
    def compose(self) -> ComposeResult:
        lab = labels()
        # The label column fits the longest label of the active language, so the
        # manual's own terms are never cut (German: "SMTP mit Authentifizierung").
        self.full_label_width = max(18, max(cell_len(t) for t in lab.values()) + 2)
        # below 72 columns: as wide as the longest word, longer labels wrap
        self.tiny_label_width = min(self.full_label_width, max(
            cell_len(piece) for t in lab.values() for piece in _label_pieces(t)) + 2)
        self.label_width = (self.tiny_label_width if 0 < self.app.size.width < 72
                            else self.full_label_width)
        # Sections start disabled as refresh_state() will set them for the loaded
        # settings: set at mount instead, each costs a restyle of its subtree
        # (~40 ms before the first paint).  refresh_state stays the rule.
        # Likewise the text fields and checkboxes start with the loaded values
        # (fill() then changes nothing: no class change, no restyle).
        loaded = self.service.settings
        auth, pop3 = loaded.mail.smtp.authentication, loaded.mail.pop3.enabled
        oauth = auth and loaded.mail.smtp.auth_method == "oauth2" and not pop3
        self._start_disabled = {
            "mail.pop3.server": not pop3,
            "mail.smtp.username": not (auth or pop3),
            "mail.smtp.password": not (auth or pop3) or oauth,
            "mail.smtp.auth_method": not auth,
        }
        yield Static(id="title")
        with Horizontal(id="body"):
            with VerticalScroll(id="form", can_focus=False):  # no invisible Tab stop
                if self.demo_note:
                    yield Static(Text(self.demo_note), id="demo-note")
                yield self._sized(ProblemLine(id="problems-general"))
                yield from self._row("mail.relay", lab, self._choice(
                    "mail.relay", loaded.mail.relay,
                    ("internal", _("internal")), ("external", _("external"))))
                yield from self._row("mail.sender", lab, FieldInput(
                    loaded.mail.sender, id=wid("mail.sender")))
                yield from self._row("mail.sender_name", lab, FieldInput(
                    loaded.mail.sender_name, id=wid("mail.sender_name"),
                    placeholder=_("(optional)")))
                yield from self._row("mail.html", lab, Tick(
                    _("send HTML e-mails with logo"), loaded.mail.html, id=wid("mail.html")))
                with FieldRow(classes="row"):
                    yield self._sized(Label("", classes="label"))
                    yield Button(_("Send test mail"), id="test-mail", compact=True)
                queue_line = self._sized(ProblemLine(id="queue-line", classes="problem"))
                queue_line.display = False  # shown while mail waits or failed
                yield queue_line
                with Vertical(id="external", disabled=loaded.mail.relay != "external"):
                    yield Static(self._section_text(loaded.mail.relay == "external"),
                                 classes="section", id="external-title")
                    with FieldRow(classes="row", id="row-provider"):
                        yield self._sized(Label(_("Provider"), classes="label"))
                        yield Button(self._provider_label(loaded), id="provider",
                                     compact=True)
                    yield from self._row("mail.smtp.server", lab, FieldInput(
                        loaded.mail.smtp.server, id=wid("mail.smtp.server"),
                        example="smtp.example.com:587"))
                    yield from self._row("mail.smtp.security", lab, self._choice(
                        "mail.smtp.security", loaded.mail.smtp.security,
                        ("tls", "TLS"), ("starttls", "STARTTLS"), ("none", _("unencrypted"))))
                    yield from self._row("mail.smtp.verify_certificates", lab, Tick(
                        _("verify"), loaded.mail.smtp.verify_certificates,
                        id=wid("mail.smtp.verify_certificates")))
                    yield from self._row("mail.smtp.authentication", lab, self._choice(
                        "mail.smtp.authentication", "yes" if auth else "no",
                        ("yes", _("yes")), ("no", _("no"))))
                    yield from self._row("mail.pop3.enabled", lab, GuardedCheckbox(
                        _("log in to POP3 first"), pop3, id=wid("mail.pop3.enabled"),
                        guard=self._pop3_guard))
                    yield from self._row("mail.pop3.server", lab, FieldInput(
                        loaded.mail.pop3.server, id=wid("mail.pop3.server"),
                        example="pop3.example.com"))
                    with FieldRow(classes="row", id="row-" + wid("mail.smtp.auth_method"),
                                  disabled=self._start_disabled["mail.smtp.auth_method"]):
                        yield self._sized(Label(lab["mail.smtp.auth_method"], classes="label"))
                        yield self._choice("mail.smtp.auth_method",
                                           loaded.mail.smtp.auth_method,
                                           ("password", _("password")), ("oauth2", "OAuth2"))
                        yield Button(_("Sign in"), id="oauth-login", compact=True,
                                     disabled=not (oauth and
                                                   loaded.mail.smtp.oauth2.flow == "device_code"))
                    yield self._sized(ProblemLine(
                        id="problems-" + wid("mail.smtp.auth_method"), classes="problem"))
                    yield from self._row("mail.smtp.username", lab, FieldInput(
                        loaded.mail.smtp.username, id=wid("mail.smtp.username")))
                    yield from self._row("mail.smtp.password", lab, PasswordInput(
                        loaded.mail.smtp.password, id=wid("mail.smtp.password")))
                    o = loaded.mail.smtp.oauth2
                    with Vertical(id="oauth2") as box:
                        box.display = oauth
                        yield from self._row("mail.smtp.oauth2.client_id", lab, FieldInput(
                            o.client_id, id=wid("mail.smtp.oauth2.client_id")))
                        yield from self._row("mail.smtp.oauth2.tenant", lab, FieldInput(
                            o.tenant, id=wid("mail.smtp.oauth2.tenant"),
                            example="contoso.com"))
                        yield from self._row("mail.smtp.oauth2.client_secret", lab,
                                             PasswordInput(o.client_secret,
                                                           id=wid("mail.smtp.oauth2.client_secret")))
                        yield from self._row("mail.smtp.oauth2.key_file", lab, FieldInput(
                            o.key_file, id=wid("mail.smtp.oauth2.key_file"),
                            placeholder=_("(optional)")))
                yield from self._row("appliance.deployment", lab, self._choice(
                    "appliance.deployment", loaded.appliance.deployment,
                    ("on-premises", _("on-premises")), ("cloud", _("cloud"))))
                yield Static(_("Advanced"), classes="section")
                yield from self._row("mail.test_recipient", lab, FieldInput(
                    loaded.mail.test_recipient, id=wid("mail.test_recipient"),
                    placeholder="admin@example.com"))
                yield from self._row("mail.smtp.ca_file", lab, FieldInput(
                    loaded.mail.smtp.ca_file, id=wid("mail.smtp.ca_file"),
                    placeholder=_("(system CAs only)")))
                timeouts = TIMEOUTS if str(loaded.mail.smtp.timeout) in TIMEOUTS else (
                    *TIMEOUTS, str(loaded.mail.smtp.timeout))
                yield from self._row("mail.smtp.timeout", lab, self._choice(
                    "mail.smtp.timeout", loaded.mail.smtp.timeout,
                    *((t, _("{n} s").format(n=t)) for t in timeouts)))
                yield from self._row("mail.smtp.ehlo_name", lab, FieldInput(
                    loaded.mail.smtp.ehlo_name, id=wid("mail.smtp.ehlo_name"),
                    placeholder=_("(automatic)")))
                yield from self._row("mail.smtp.allow_plaintext_auth", lab, Tick(
                    _("allow (trusted links only)"), loaded.mail.smtp.allow_plaintext_auth,
                    id=wid("mail.smtp.allow_plaintext_auth")))
                yield from self._row("mail.internal.sendmail", lab, FieldInput(
                    loaded.mail.internal.sendmail, id=wid("mail.internal.sendmail")))
            yield Static(id="help")
        yield Static(id="status")
        yield Static(id="keys")

    @staticmethod
    def _section_text(external: bool) -> Text:
        text = Text()
        text.append(_("External SMTP server"), style="bold")
        if not external:
            # the rows below say nothing themselves: the whole block is off
            text.append("  " + _("(not used: the mail server is internal)"))
        return text

    @staticmethod
    def _choice(key: str, chosen: object, *options: tuple[str, str]) -> Choice:
        """A radio row for ``key`` with the loaded value ``chosen`` pressed."""
        return Choice(*(ChoiceButton(label, value=value == str(chosen),
                                     id=f"{wid(key)}--{value}")
                        for value, label in options), id=wid(key))

    def _row(self, key: str, lab: dict[str, str], widget: Widget) -> ComposeResult:
        with FieldRow(classes="row", id="row-" + wid(key),
                      disabled=self._start_disabled.get(key, False)):
            yield self._sized(Label(lab[key], classes="label"))
            yield widget
            # shown while the row (or its section) is disabled: a word, not only
            # a dim colour, which a vt100 or NO_COLOR cannot show
            yield Static(_("(not used)"), classes="off-note")
        yield self._sized(ProblemLine(id="problems-" + wid(key), classes="problem"))

    def _sized(self, widget: Widget) -> Widget:
        """Apply the label column's width (labels) or indent (problem lines)."""
        if isinstance(widget, Label):
            widget.styles.width = self.label_width
            text = str(widget.content)
            widget.full_text = text  # type: ignore[attr-defined]
            if self.label_width < self.full_label_width and text:
                widget.update(_wrap_label(text, self.label_width - 1))
        else:
            widget.styles.padding = (0, 0, 0, self.label_width)
        return widget

    def _apply_label_width(self) -> None:
        """The label column for the terminal's width now (after a resize); a row
        of options that does not fit beside it is stacked, one per line."""
        width = (self.tiny_label_width if self.app.size.width < 72
                 else self.full_label_width)
        room = self.app.size.width - width - 4  # form padding and scrollbar
        for choice in self.query(Choice):
            needed = sum(cell_len(str(b.label)) + 6 for b in choice.query(RadioButton))
            choice.set_class(needed > room, "-stacked")
        if width == self.label_width:
            return
        self.label_width = width
        for widget in self.query(".label"):
            if isinstance(widget, Label):
                text = getattr(widget, "full_text", "")
                widget.styles.width = width
                widget.update(_wrap_label(text, width - 1) if text else "")
        for line in self.query(ProblemLine):
            if line.id != "problems-general":
                line.styles.padding = (0, 0, 0, width)

    # -- start -------------------------------------------------------------
    def on_mount(self) -> None:
        self.loaded = self.service.settings  # loads the file unless already loaded
        self.fill(self.loaded)
        self._apply_label_width()
        self.watch(self.query_one("#form"), "scroll_y",
                   lambda _old, _new: self._show_more(), init=False)
        self.show_queue()
        self.set_interval(30, self.show_queue)

    # -- the outgoing queue (mailer.queue) ---------------------------------------
    def _spool(self) -> Queue | None:
        """The queue of the saved settings; None with a stand-in mailer (demo,
        tests) or the internal relay without any queued mail."""
        import sys

        if self.mailer is not sys.modules.get("mailer"):
            return None
        from mailer import queue

        return queue.for_settings(self.loaded)

    def show_queue(self) -> dict[str, Any] | None:
        """The queue's line under the test-mail button: N waiting, N failed, the
        oldest, the last error with its advice (hidden while the queue is empty)."""
        line = self.query_one("#queue-line", ProblemLine)
        spool = self._spool()
        info: dict[str, Any] | None = None
        if spool is not None and spool.exists():
            try:
                info = spool.summary()
            except OSError:
                info = None
        if not info or not (info["waiting"] or info["failed"]):
            line.display = False
            return info
        from tui.dialogs.queue import summary_line

        text = Text(summary_line(info))
        text.append("  " + _("[Ctrl+O: queue]"), style="bold")
        line.update(text)
        line.set_class(bool(info["failed"]), "-error")
        line.set_class(not info["failed"], "-warning")
        line.display = True
        return info

    def action_queue(self) -> None:
        spool = self._spool()
        if spool is None:
            self.say(_("No outgoing queue here."))
            return
        if self.loaded.mail.relay == "internal" and not spool.exists():
            self.say(_("With the internal mail server the local mail system queues the "
                       "mail; mailconsole keeps no queue of its own."))
            return
        self.app.push_screen(dialogs.QueueDialog(spool, self.loaded), self._queue_closed)

    def _queue_closed(self, _result: None) -> None:
        self.show_queue()

    def _after_test_mail(self, report: Report | None,
                         fix: tuple[dict[str, Any], str] | None = None) -> None:
        """A test mail bypasses the queue: if it worked while mail is waiting, the
        waiting mail can go now too (and a stuck queue is not hidden).  After a
        failure closed with Ctrl+F, its one-key fix goes into the form."""
        if fix is not None:
            values, label = fix
            self.fill(self.current().with_values(values))
            self.say(_("Applied: {label}").format(label=_(label)))
            return
        info = self.show_queue()
        if report is None or not report.ok or not info or not info["waiting"]:
            return
        if self.current() != self.loaded:
            return  # the queue sends with the saved settings, not these
        spool = self._spool()

        def done(yes: bool | None) -> None:
            if yes and spool is not None:
                self.app.push_screen(dialogs.QueueDialog(spool, self.loaded, flush=True),
                                     self._queue_closed)

        n = info["waiting"]
        self.app.push_screen(dialogs.ConfirmDialog(
            lambda: _("Outgoing queue"),
            lambda: _("The test mail went through and {n} mail(s) are waiting in the "
                      "queue. Send them now?").format(n=n),
            yes=lambda: _("Send now")), done)

    async def relabel(self) -> None:
        """Compose the screen again (its texts translated anew, e.g. spelled in
        ASCII after a switch to basic mode), keeping the values on screen and
        the focus."""
        settings = self.current()
        focused = self.focused.id if self.focused is not None else None
        with self.app.batch_update():  # no frame with the empty new widgets
            self._filling = True  # their Changed events are not edits
            try:
                await self.recompose()
            finally:
                self._filling = False
            self.fill(settings)
        if focused:
            for widget in self.query("#" + focused):
                if widget.focusable:
                    widget.focus()

    # -- values <-> widgets ------------------------------------------------
    def fill(self, settings: Settings) -> None:
        """Show ``settings`` in the widgets."""
        self._filling = True
        try:
            for key in FORM_KEYS:
                value = settings.get(key)
                widget = self.query_one("#" + wid(key))
                if isinstance(widget, Choice):
                    if key == "mail.smtp.authentication":
                        widget.choose("yes" if value else "no")
                    else:
                        widget.choose(str(value))
                elif isinstance(widget, Checkbox):
                    widget.value = bool(value)
                elif isinstance(widget, PasswordInput):
                    widget.load(str(value))
                elif isinstance(widget, Input):
                    widget.value = str(value)
                    widget.cursor_position = len(widget.value)
        finally:
            self._filling = False
        self.refresh_state(settings)

    def values(self) -> dict[str, Value]:
        """``{key path: value}`` of every field on screen."""
        out: dict[str, Value] = {}
        for key in FORM_KEYS:
            widget = self.query_one("#" + wid(key))
            if isinstance(widget, Choice):
                chosen = widget.value
                if key == "mail.smtp.authentication":
                    out[key] = chosen != "no"
                elif key == "mail.smtp.timeout" and chosen is not None:
                    out[key] = int(chosen)
                elif chosen is not None:
                    out[key] = chosen
            elif isinstance(widget, Checkbox):
                out[key] = bool(widget.value)
            elif isinstance(widget, PasswordInput):
                out[key] = widget.secret
            elif isinstance(widget, Input):
                out[key] = widget.value
        return out

    def current(self) -> Settings:
        """The settings as on screen (unsaved edits included)."""
        return self.loaded.with_values({**self.extra, **self.values()})

    @staticmethod
    def _provider_label(settings: Settings) -> str:
        return presets.short_label(presets.matching(settings.to_flat()))

    @property
    def dirty(self) -> bool:
        return self.current() != self.loaded

    # -- state: enabled fields, problems, title, keys ----------------------
    def refresh_state(self, settings: Settings | None = None) -> None:
        settings = settings or self.current()
        self._shown = settings
        external = settings.mail.relay == "external"
        auth = settings.mail.smtp.authentication
        pop3 = settings.mail.pop3.enabled
        oauth = auth and settings.mail.smtp.auth_method == "oauth2" and not pop3
        self.query_one("#external").disabled = not external
        self.query_one("#external-title", Static).update(self._section_text(external))
        self.query_one("#" + wid("mail.pop3.enabled")).set_class(auth, "-blocked")
        self.query_one("#row-" + wid("mail.pop3.server")).disabled = not pop3
        for key in ("mail.smtp.username", "mail.smtp.password"):
            self.query_one("#row-" + wid(key)).disabled = not (auth or pop3)
        self.query_one("#row-" + wid("mail.smtp.password")).disabled = \
            not (auth or pop3) or oauth
        self.query_one("#row-" + wid("mail.smtp.auth_method")).disabled = not auth
        self.query_one("#oauth2").display = oauth
        self.query_one("#oauth-login", Button).disabled = not (
            oauth and settings.mail.smtp.oauth2.flow == "device_code")
        provider = self._provider_label(settings)
        button = self.query_one("#provider", Button)
        if str(button.label) != provider:
            button.label = provider
            button.refresh(layout=True)
        self.problems = self.service.validate(settings)
        self._show_problems()
        self._show_title(settings)
        self._show_keys()
        if self._status_for is not None and settings != self._status_for:
            self.say("")
        self._esc_armed = False
        if self.focused is not None:
            # a problem line inserted above must not push the focused row away
            self.call_after_refresh(self._keep_in_view)

    def _keep_in_view(self) -> None:
        if self.focused is not None and self.is_attached:
            self.focused.scroll_visible(animate=False, immediate=True)
        self._show_more()

    def _show_more(self) -> None:
        """The form's bottom edge says when more is above or below the fold."""
        try:
            form = self.query_one("#form", VerticalScroll)
        except Exception:
            return
        form.border_subtitle = more_sign(form)

    def _show_problems(self) -> None:
        by_key: dict[str, list[Problem]] = {}
        for p in self.problems:
            target = p.key if p.key in FORM_KEYS else ""
            by_key.setdefault(target, []).append(p)
        general = self.query_one("#problems-general", ProblemLine)
        self._render_problems(general, by_key.get("", []), with_key=True)
        for key in FORM_KEYS:
            line = self.query_one("#problems-" + wid(key), ProblemLine)
            self._render_problems(line, by_key.get(key, []))

    def _render_problems(self, line: ProblemLine, problems: list[Problem], *,
                         with_key: bool = False) -> None:
        line.display = bool(problems)
        if not problems:
            return
        text = Text()
        for i, p in enumerate(problems):
            if i:
                text.append("\n")
            if p.severity == "error":
                text.append(_("Error:") + " ", style="bold")
            else:
                text.append(_("Warning:") + " ", style="bold")
            if with_key and p.key:
                text.append(f"{labels().get(p.key, p.key)}: ")
            text.append(visible(p.message))  # it may quote a value
            if p.fix and p.fix_label:
                text.append("  " + _("[Ctrl+F: {label}]").format(label=p.fix_label),
                            style="bold")
        line.update(text)
        line.set_class(any(p.severity == "error" for p in problems), "-error")
        line.set_class(all(p.severity != "error" for p in problems), "-warning")

    def _show_title(self, settings: Settings) -> None:
        text = Text()
        text.append(_("Admin > Server > Mail-Server"), style="bold")
        text.append("    " + visible(self.service.path.name))
        if settings != self.loaded:
            text.append("  " + _("[modified]"), style="bold")
        self.query_one("#title", Static).update(text)

    def _show_keys(self) -> None:
        self.query_one("#keys", Static).update(Text(self.key_line(self.app.size.width - 2)))

    def key_line(self, width: int) -> str:
        """The key line for ``width`` cells.  When the suggested fix's name does
        not fit, it is shown as "^F Fix" (the name is in the form); keys that
        still do not fit are left out from the end, and the line then ends in
        an ellipsis (F1 lists every key)."""
        basic = getattr(self.app, "console_mode", getattr(self.app, "mode", "rich")) == "basic"
        fix = self._fix_problem()
        fixes = [] if fix is None else [_("^F {label}").format(label=fix.fix_label),
                                        _("^F Fix")]
        for fix_part in fixes or [""]:
            for help_part in (_("F1/^G Help"), _("F1 Help")):
                parts = [_("^S Save"), _("^T Test"), *([fix_part] if fix_part else []),
                         _("^R Revert"), _("^Q Quit"), help_part,
                         _("F2 Rich") if basic else _("F2 Basic")]
                line = "  ".join(parts)
                if cell_len(line) <= width:
                    return line
        # left out first: the display switch, revert, test mail (F1 lists them)
        sign = " " + ellipsis()
        for drop in (-1, 2 + bool(fixes), 1):
            del parts[drop]
            line = "  ".join(parts) + sign
            if cell_len(line) <= width:
                break
        return line

    def _fix_problem(self) -> Problem | None:
        focused_key = key_of(self.focused.id) if self.focused is not None else None
        fixable = [p for p in self.problems if p.fix]
        for p in fixable:
            if p.key == focused_key:
                return p
        return fixable[0] if fixable else None

    def say(self, message: str, *, error: bool = False) -> None:
        """Show a message in the status line (wrapped, at most three lines).

        It belongs to the values on screen now: the next change to the form
        clears it."""
        status = self.query_one("#status", Static)
        status.update(fit(Text(visible(message)), self.app.size.width - 2, 3))  # may quote a value
        status.set_class(error, "-error")
        self._status_for = self._shown if message else None

    # -- events ------------------------------------------------------------
    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(RadioSet.Changed)
    def _changed(self, event: Input.Changed | Checkbox.Changed | RadioSet.Changed) -> None:
        if self._filling:
            return
        sender = getattr(event, "radio_set", None) or getattr(event, "checkbox", None) \
            or getattr(event, "input", None)
        key = key_of(getattr(sender, "id", None))
        if key == "mail.smtp.authentication":
            # "SMTP after POP3" is only possible without SMTP AUTH.
            box = self.query_one("#" + wid("mail.pop3.enabled"), GuardedCheckbox)
            if self.values()[key] and box.value:
                self._filling = True
                box.value = False
                self._filling = False
                self.say(_("SMTP after POP3 was switched off: it needs "
                           "\"SMTP with authentication\" set to no."))
        self.refresh_state()

    @on(GuardedCheckbox.Refused)
    def _refused(self, event: GuardedCheckbox.Refused) -> None:
        self.say(event.reason, error=True)

    def _pop3_guard(self) -> str:
        if self.values().get("mail.smtp.authentication"):
            return _("SMTP after POP3 can only be ticked while \"SMTP with authentication\" "
                     "is set to no (it is the alternative login).")
        return ""

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        try:
            self._show_help(event.widget)
            self._show_keys()
        except NoMatches:
            # a focus event of a widget mounted while the screen is rebuilt (the F2 /
            # Ctrl+B switch, a resize) can arrive before the help and key lines exist;
            # the rebuilt screen shows both
            pass

    def _show_help(self, widget: Widget) -> None:
        key = key_of(widget.id)
        if key is None and isinstance(widget, RadioButton) and widget.parent is not None:
            key = key_of(widget.parent.id)
        text = Text()
        if key is not None:
            # Basic mode (serial lines): one short line without the
            # label (it is beside the highlighted field), ~50 instead of ~135
            # bytes per focus move; F1 shows the field's full text.
            if getattr(self.app, "console_mode", None) != "basic":
                text.append(labels()[key] + ": ", style="bold")
                text.append(field_help(key))
            else:
                text.append(field_short_help(key))
        elif widget.id == "provider":
            text.append(_("Provider: "), style="bold")
            text.append(_("fills the server, security and login method of a mail provider "
                          "and shows what to set up in its portal."))
        elif widget.id == "oauth-login":
            text.append(_("Sign in: "), style="bold")
            text.append(_("OAuth2 device code: shows a web address and a code to enter on "
                          "any device; the appliance keeps the sign-in."))
        elif widget.id == "test-mail":
            text.append(_("Send test mail: ") , style="bold")
            text.append(_("sends a test mail with the values on screen, even unsaved "
                          "ones, and shows each step. Ctrl+T does the same."))
        self._help_text = text
        self._fit_help()

    def _fit_help(self) -> None:
        """The help text in the help box; cut with "... F1" when it is longer."""
        help_box = self.query_one("#help", Static)
        width = help_box.content_region.width or (self.app.size.width - 2)
        lines = help_box.content_region.height or 3
        help_box.update(fit(self._help_text, width, lines, more=_("F1: all of it")))

    def on_resize(self) -> None:
        self.call_after_refresh(self._after_resize)

    def _after_resize(self) -> None:
        self._apply_label_width()
        self._fit_help()
        self._show_keys()
        self._show_more()

    @on(Button.Pressed, "#test-mail")
    def _test_mail_pressed(self) -> None:
        self.action_test_mail()

    @on(Button.Pressed, "#provider")
    def _provider_pressed(self) -> None:
        def chosen(name: str | None) -> None:
            if not name or name not in presets.PRESETS:
                return
            values = presets.preset_values(name)
            self.extra.update({k: v for k, v in values.items() if k not in FORM_KEYS})
            self.fill(self.current().with_values(values))
            self.say(_("Preset {label}: check the fields, then save.").format(
                label=presets.short_label(name)))
            self.app.push_screen(dialogs.ChecklistDialog(name))

        self.app.push_screen(dialogs.PresetDialog(), chosen)

    @on(Button.Pressed, "#oauth-login")
    def _oauth_login_pressed(self) -> None:
        from config.tokens import token_path

        settings = self.current()
        self.app.push_screen(dialogs.DeviceLoginDialog(
            settings, token_path(self.service.path)), lambda ok: self.refresh_state())

    # -- actions -----------------------------------------------------------
    def action_help(self) -> None:
        # a function: asked again if the dialog is relabelled (F2 basic/rich)
        self.app.push_screen(dialogs.HelpScreen(field=self._focused_field_help))

    def _focused_field_help(self) -> Text | None:
        """The help screen starts with the focused field's full text: basic
        mode's help line is a short one, and a long text is cut in the help
        lines ("... F1: all of it")."""
        if self.focused is None:
            return None
        widget = self.focused
        key = key_of(widget.id)
        if key is None and isinstance(widget, RadioButton) and widget.parent is not None:
            key = key_of(widget.parent.id)
        if key is None:
            return None
        text = Text()
        text.append(labels()[key] + ": ", style="bold")
        text.append(field_help(key))
        return text

    def action_redraw(self) -> None:
        self.app.refresh(repaint=True, layout=True)
        self.refresh(repaint=True, layout=True)

    def action_fix(self) -> None:
        p = self._fix_problem()
        if p is None or not p.fix:
            self.say(_("Nothing to fix here."))
            return
        self.fill(self.current().with_values(p.fix))
        self.say(_("Applied: {label}").format(label=p.fix_label))

    def action_test_mail(self) -> None:
        settings = self.current()
        dialog = dialogs.TestMailDialog(settings, self.mailer,
                                        save_dir=self.service.path.parent,
                                        config_path=self.service.path)
        self.app.push_screen(dialog, lambda _result: self._after_test_mail(
            dialog.report, dialog.fix))

    def action_revert(self) -> None:
        if not self.dirty:
            self._reload()
            self.say(_("Reloaded {name}.").format(name=self.service.path.name))
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._reload()
                self.say(_("Reverted to {name}.").format(name=self.service.path.name))

        name = self.service.path.name
        self.app.push_screen(dialogs.ConfirmDialog(
            lambda: _("Revert"),
            lambda: _("Throw away the changes on screen and reload {name}?").format(name=name),
            yes=lambda: _("Revert")), done)

    def _reload(self) -> bool:
        try:
            self.loaded = self.service.load()
        except ConfigError as err:
            self.say(str(err), error=True)
            return False
        self.extra = {}
        self.fill(self.loaded)
        return True

    def action_escape(self) -> None:
        """Esc: with unsaved changes as Ctrl+Q; on a clean form the second Esc in
        a row quits, so the Esc that closed a dialog and one more (F1 Esc Esc)
        never quit by accident."""
        if self.dirty or self._esc_armed:
            self.action_request_quit()
            return
        self.say(_("Esc again quits (Ctrl+Q quits at once)."))
        self._esc_armed = True

    def on_descendant_blur(self) -> None:
        self._esc_armed = False

    def action_request_quit(self) -> None:
        if not self.dirty:
            self.app.exit(0)
            return

        def done(choice: str | None) -> None:
            if choice == "discard":
                self.app.exit(0)
            elif choice == "save":
                self.action_save(then_quit=True)

        self.app.push_screen(dialogs.QuitDialog(), done)

    def action_save(self, then_quit: bool = False) -> None:
        settings = self.current()
        problems = self.service.validate(settings)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            self.say(_("Not saved: {n} error(s) in the form, first: {first}").format(
                n=len(errors), first=f"{labels().get(first.key, first.key)}: {first.message}"),
                error=True)
            self._focus_key(errors[0].key)
            return
        diff = self.service.diff(settings)
        if not diff:
            self.say(_("Nothing to save: {name} already has these values.").format(
                name=self.service.path.name))
            if then_quit:
                self.app.exit(0)
            return
        diff = diff.replace(str(self.service.path), self.service.path.name)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._do_save(settings, then_quit=then_quit)

        warnings = [p for p in problems if p.severity != "error"]
        self.app.push_screen(dialogs.SaveDialog(
            self.service.path.name, diff, warnings=len(warnings),
            changes=describe_changes(self.loaded, settings),
            new_file=not self.service.exists), confirmed)

    def _do_save(self, settings: Settings, *, then_quit: bool, force: bool = False) -> None:
        try:
            self.service.save(settings, force=force)
        except ConfigConflictError:
            self._conflict(settings, then_quit=then_quit)
            return
        except ConfigInvalidError as err:
            self.say(_("Not saved: {reason}").format(reason=str(err)), error=True)
            return
        except ConfigError as err:
            self.say(_("Not saved: {reason}").format(reason=str(err)), error=True)
            return
        self.loaded = self.service.settings
        self.extra = {}
        self.refresh_state()
        self.say(_("Saved {name}.").format(name=self.service.path.name))
        if then_quit:
            self.app.exit(0)

    def _conflict(self, settings: Settings, *, then_quit: bool) -> None:
        def chosen(choice: str | None) -> None:
            if choice == "reload":
                self._reload()
                self.say(_("Reloaded {name}; your edits were dropped.").format(
                    name=self.service.path.name))
            elif choice == "apply":
                try:  # the new file, with the keys edited on screen on top
                    rebased = self.service.rebase(settings)
                except ConfigError as err:
                    self.say(str(err), error=True)
                    return
                self.loaded = self.service.settings
                self.fill(rebased)
                self.say(_("Your edits are now on top of the new file; review and save."))
                self.action_save(then_quit=then_quit)

        self.app.push_screen(dialogs.ConflictDialog(self.service.path.name), chosen)

    def _focus_key(self, key: str) -> None:
        if key in FORM_KEYS:
            widget = self.query_one("#" + wid(key))
            if widget.focusable:
                widget.focus()
            widget.scroll_visible()
