"""The provider and OAuth2 dialogs: ``PresetDialog`` (choose a provider),
``ChecklistDialog`` (what to set up in its portal) and ``DeviceLoginDialog``
(the OAuth2 device code sign-in: URL and code, waits, Esc cancels).
"""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from config import presets
from config.i18n import _
from config.model import Settings
from tui.dialogs.base import Dialog


class PresetDialog(Dialog[str]):
    """One button per provider preset; the answer is the preset's name."""

    BINDINGS = [Binding("escape", "dismiss('')", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(_("Provider"), classes="dialog-title")
            yield Static(Text(_("Fills the server, security and login method; your other "
                                "values stay. Nothing is saved until Ctrl+S.")))
            for name in presets.PRESETS:
                yield Button(presets.label(name), id="preset-" + name, compact=True)
            with Horizontal(classes="buttons"):
                yield self.button(_("Cancel (Esc)"), "preset-cancel")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        ident = event.button.id or ""
        self.dismiss(ident.removeprefix("preset-") if ident != "preset-cancel" else "")


class ChecklistDialog(Dialog[None]):
    """The chosen provider's checklist."""

    BINDINGS = [Binding("escape,enter", "dismiss(None)", "Close")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.preset = name

    def compose(self) -> ComposeResult:
        text = Text()
        for n, line in enumerate(presets.checklist(self.preset), 1):
            if n > 1:
                text.append("\n")
            text.append(f"{n}. ", style="bold")
            text.append(line)
        with Vertical(classes="box wide"):
            yield Label(_("Checklist: {label}").format(label=presets.label(self.preset)),
                        classes="dialog-title")
            with VerticalScroll(classes="diff"):
                yield Static(text, id="checklist")
            with Horizontal(classes="buttons"):
                yield self.button(_("OK (Enter)"), "checklist-ok")

    @on(Button.Pressed, "#checklist-ok")
    def _ok(self) -> None:
        self.dismiss(None)


class DeviceLoginDialog(Dialog[bool]):
    """OAuth2 device code sign-in (RFC 8628) in a worker thread; the answer is
    whether it succeeded.  Esc cancels the polling.  No token is ever shown."""

    BINDINGS = [Binding("escape", "close", "Cancel")]

    def __init__(self, settings: Settings, token_file: str) -> None:
        super().__init__()
        self.settings, self.token_file = settings, token_file
        self.cancel = threading.Event()
        self.ok = False
        self.message = Text(_("Asking the provider for a code..."))

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(_("Sign in (OAuth2 device code)"), classes="dialog-title")
            yield Static(self.message, id="login-text")
            with Horizontal(classes="buttons"):
                yield self.button(_("Close (Esc)") if self.ok else _("Cancel (Esc)"),
                                  "login-close")

    def on_mount(self) -> None:
        threading.Thread(target=self._login, name="oauth-device-login", daemon=True).start()

    def _login(self) -> None:
        from mailer.oauth import OAuthError, device_login

        try:
            entry = device_login(self.settings, self.token_file, on_prompt=self._prompted,
                                 cancel=self.cancel)
        except OAuthError as exc:
            self._later(self._failed, exc.cls, exc.values())
            return
        except Exception as exc:
            self._later(self._failed, "oauth_error", {"reply": type(exc).__name__,
                                                      "detail": type(exc).__name__})
            return
        self._later(self._done, entry)

    def _later(self, fn: Any, *args: Any) -> None:
        if self.cancel.is_set():
            return
        try:
            self.app.call_from_thread(fn, *args)
        except RuntimeError:  # the app is gone
            pass

    def _prompted(self, prompt: Any) -> None:
        self._later(self._show_prompt, prompt.verification_uri, prompt.user_code)

    def _show(self, text: Text) -> None:
        self.message = text
        self.query_one("#login-text", Static).update(text)

    def _show_prompt(self, url: str, code: str) -> None:
        smtp = self.settings.mail.smtp
        text = Text()
        text.append(_("On any device, open") + "\n")
        text.append("  " + url + "\n", style="bold")
        text.append(_("and enter the code") + "\n")
        text.append("  " + code + "\n", style="bold")
        text.append(_("Sign in as {account}. Waiting (Esc cancels)...").format(
            account=smtp.oauth2.subject or smtp.username or "?"))
        self._show(text)

    def _done(self, entry: dict[str, Any]) -> None:
        self.ok = True
        self._show(Text(_("Signed in; the appliance keeps the sign-in in {path} "
                          "(mode 0600).").format(path=self.token_file)))
        self.query_one("#login-close", Button).label = _("Close (Esc)")

    def _failed(self, cls: str, values: dict[str, object]) -> None:
        from mailer.diagnosis import describe
        from mailer.oauth import provider_hint

        smtp = self.settings.mail.smtp
        message, advice = describe(cls, {**values,
                                         "portal": provider_hint(smtp.oauth2.token_url),
                                         "account": smtp.oauth2.subject or smtp.username})
        text = Text()
        text.append(message + "\n", style="bold")
        text.append(advice)
        self._show(text)
        self.query_one("#login-close", Button).label = _("Close (Esc)")

    @on(Button.Pressed, "#login-close")
    def _close_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        self.cancel.set()
        self.dismiss(self.ok)
