"""A stand-in mailer for the snapshot tests: fixed steps, no host, port or clock.

The behaviour tests use the real mailer against loopback servers; these fakes
exist only so that the in-progress / succeeded / failed dialogs can be pictured
deterministically.
"""

from __future__ import annotations

import threading

from mailer.report import Failure, Report, Step, TranscriptLine

STEPS = [
    ("settings", "Check the settings"),
    ("resolve", "Resolve smtp.example.com"),
    ("connect", "Connect to smtp.example.com:587"),
    ("greeting", "Server greeting"),
    ("ehlo", "EHLO"),
    ("starttls", "STARTTLS"),
    ("certificate", "Certificate of smtp.example.com"),
    ("login", "Log in as pbx@example.com"),
    ("mail_from", "MAIL FROM"),
    ("rcpt_to", "RCPT TO"),
    ("data", "DATA"),
    ("quit", "QUIT"),
]


class FakeMailer:
    """``outcome``: "hang" (stays at the login step until cancelled), "ok", "fail".
    Blocking, like the real mailer's send_test_mail (the dialog runs it in a thread)."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.calls: list[tuple[object, str]] = []
        self.cancelled = False

    def send_test_mail(self, *, settings, recipient, on_step=None,
                       cancel: threading.Event | None = None) -> Report:
        self.calls.append((settings, recipient))
        report = Report(relay="external", server="smtp.example.com:587",
                        recipients=[recipient])
        report.transcript = [
            TranscriptLine("*", "connected to smtp.example.com:587"),
            TranscriptLine("S", "220 smtp.example.com ESMTP"),
            TranscriptLine("C", "EHLO pbx"),
            TranscriptLine("S", "250 STARTTLS"),
            TranscriptLine("C", "AUTH PLAIN <redacted>"),
        ]
        for name, title in STEPS:
            step = Step(name=name, title=title)
            report.steps.append(step)
            if on_step:
                on_step(Step(name=name, title=title, status="running"))
            if name == "login" and self.outcome == "hang":
                assert cancel is not None, "the dialog passes a cancel event"
                if not cancel.wait(60):
                    raise AssertionError("the hanging send was never cancelled")
                self.cancelled = True
                step.status = "failed"
                report.failure = Failure(cls="cancelled", message="Cancelled.", advice="",
                                         step="login")
                return report
            if name == "login" and self.outcome == "fail":
                step.status = "failed"
                step.reply = "535 5.7.8 Authentication credentials invalid"
                if on_step:
                    on_step(Step(name=name, title=title, status="failed", reply=step.reply))
                report.failure = Failure(
                    cls="auth_failed",
                    message="The server refused the user name or password "
                            "(535 5.7.8 Authentication credentials invalid).",
                    advice="Check the user name and password; some providers want an "
                           "app password when two-factor login is on.",
                    step="login",
                )
                return report
            step.status = "ok"
            if on_step:
                on_step(Step(name=name, title=title, status="ok"))
        report.ok = True
        report.queue_id = "4F2A1C03B9"
        return report


def busy(app, *, workers: bool = True) -> str:
    """What the app still has to do before its screen shows its state ("" if
    nothing): a message or callback waiting on the app, the screen or a widget, a
    widget waiting for its layout, repaint or styles, a worker still running
    (unless not ``workers``).
    Textual's ``pilot.pause()`` only guesses that from the process's CPU time, which
    says nothing on a loaded machine (the process is idle when it gets no CPU)."""
    from textual.worker import WorkerState

    screen = app.screen
    running = (WorkerState.PENDING, WorkerState.RUNNING)
    if workers and any(w.state in running for w in app.workers):
        return "a worker is running"
    for node in (app, screen, *screen.walk_children(with_self=False)):
        if node._message_queue.qsize() or node._next_callbacks:
            return f"{node!r} has messages waiting"
    if screen._callbacks or screen._dirty_widgets:
        return "the screen has callbacks or widgets to update"
    for node in (screen, *screen.walk_children(with_self=False)):
        for flag in ("_layout_required", "_repaint_required", "_scroll_required",
                     "_recompose_required", "_refresh_styles_required"):
            if getattr(node, flag, False):
                return f"{node!r} waits ({flag})"
    return ""


async def settled(pilot, dialog, outcome: str, timeout: float = 10.0) -> None:
    """Wait until the test-mail dialog shows what its picture is of: the result
    ("ok", "fail") or the running login step ("hang"), and the app has nothing
    left to lay out or paint (:func:`busy`).  The fake runs in the dialog's thread
    worker, so a fixed number of pauses is not enough."""
    import asyncio

    def ready() -> bool:
        if outcome == "hang":
            return bool(dialog.steps) and dialog.steps[-1].name == "login"
        return dialog.report is not None

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not ready():
        assert loop.time() < deadline, f"the test-mail dialog never got to {outcome!r}"
        await pilot.pause(0.02)
    quiet = 0
    while quiet < 3:  # three checks in a row, a loop turn apart
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        why = busy(pilot.app, workers=outcome != "hang")  # "hang": the send is the picture
        quiet = 0 if why else quiet + 1
        assert loop.time() < deadline + timeout, f"the screen never settled: {why}"
