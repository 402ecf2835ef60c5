"""A stand-in mailer for the snapshot tests: fixed steps, no host, port or clock.

The behaviour tests use the real mailer against loopback servers; these fakes
exist only so that the in-progress / succeeded / failed dialogs can be pictured
deterministically.
"""

from __future__ import annotations

import asyncio

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
    """``outcome``: "hang" (stays at the login step until cancelled), "ok", "fail"."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.calls: list[tuple[object, str]] = []
        self.cancelled = False

    async def send_test_mail_async(self, *, settings, recipient, on_step=None) -> Report:
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
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    self.cancelled = True
                    raise
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
            await asyncio.sleep(0)
        report.ok = True
        report.queue_id = "4F2A1C03B9"
        return report
