"""The outgoing queue on the mail-server screen: the status line, Ctrl+O's dialog (send
now, retry, drop, history) and the offer to send waiting mail after a test mail that
went through.  Real mailer, real aiosmtpd relay on loopback, a real spool."""

from __future__ import annotations

import os

from mailer import queue as queue_mod
from tests.tui.helpers import screen, start_test_mail, write_config
from tests.tui.test_behaviour import SIZE, run_async, screen_text, wait_for
from tui.app import make_app
from tui.dialogs import ConfirmDialog, QueueDialog


def spool() -> queue_mod.Queue:
    return queue_mod.Queue(os.environ["MAILCONSOLE_QUEUE_DIR"])


def plain(server, **extra):
    return {"mail.relay": "external", "mail.smtp.server": server.address,
            "mail.smtp.security": "none", "mail.smtp.authentication": False,
            "mail.test_recipient": "admin@example.org", **extra}


def waiting_mail(n: int = 1) -> list[str]:
    return [spool().accept("pbx@example.com", [f"user{i}@example.org"],
                           f"Subject: waiting {i}\r\n\r\nbody\r\n".encode())
            for i in range(n)]


@run_async
async def test_without_queued_mail_there_is_no_queue_line(tmp_path, smtp_server):
    path = write_config(tmp_path / "mail.toml", plain(smtp_server(tls="none", auth=False)))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not screen(app).query_one("#queue-line").display
        assert "Queue:" not in screen_text(app)


@run_async
async def test_the_queue_line_and_ctrl_o_send_the_waiting_mail(tmp_path, smtp_server):
    relay = smtp_server(tls="none", auth=False)
    path = write_config(tmp_path / "mail.toml", plain(relay))
    waiting_mail(2)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Queue: 2 waiting, 0 failed, oldest" in screen_text(app)
        assert "[Ctrl+O:" in screen_text(app)  # (the line wraps at 80 columns)
        await pilot.press("ctrl+o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, QueueDialog)
        assert "user0@example.org" in screen_text(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: not dialog.sending and "sent 2" in screen_text(app))
        assert "(the queue is empty)" in screen_text(app)
        assert "sent" in screen_text(app)  # the history lines
        await pilot.press("escape")
        await pilot.pause()
        assert not screen(app).query_one("#queue-line").display
    assert len(relay.wait_for_messages(2)) == 2


@run_async
async def test_a_failed_mail_is_shown_with_its_advice_and_can_be_retried_or_dropped(
        tmp_path, smtp_server):
    relay = smtp_server(tls="none", auth=False)

    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user here"

    relay._controller.handler.handle_RCPT = refuse
    path = write_config(tmp_path / "mail.toml", plain(relay))
    a, b = waiting_mail(2)
    from config.model import Settings

    spool().deliver(Settings().with_values(plain(relay)))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Queue: 0 waiting, 2 failed" in text
        assert "Check the recipient address" in text  # the advice of recipient_refused
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("r")  # the first one back to waiting
        await pilot.pause()
        assert spool().entry(a)["state"] == "waiting"
        await pilot.press("down", "d")  # drop the second
        await pilot.pause()
        assert spool().entry(b) is None
        assert f"{b}: dropped" in screen_text(app)


@run_async
async def test_after_a_test_mail_that_worked_the_waiting_mail_can_go_too(
        tmp_path, smtp_server):
    relay = smtp_server(tls="none", auth=False)
    path = write_config(tmp_path / "mail.toml", plain(relay))
    waiting_mail(1)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await start_test_mail(pilot)
        await wait_for(pilot, lambda: dialog.report is not None)
        assert dialog.report.ok
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "1 mail(s) are waiting" in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        queue_dialog = app.screen
        assert isinstance(queue_dialog, QueueDialog)
        await wait_for(pilot, lambda: "sent 1" in screen_text(app))
    assert sorted(m.rcpt_tos[0] for m in relay.wait_for_messages(2)) == [
        "admin@example.org", "user0@example.org"]
    assert spool().ids() == []


@run_async
async def test_in_german_the_queue_buttons_answer_to_the_letters_they_show(tmp_path, smtp_server):
    """The buttons' letters follow the active language (no English s/r/d under German
    labels): "Jetzt senden (j)", "Erneut versuchen (e)", "Entfernen (n)"; the shown
    letter drops the mail."""
    path = write_config(tmp_path / "mail.toml", plain(smtp_server(tls="none", auth=False)))
    waiting_mail(1)
    app = make_app(path, lang="de")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+o")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, QueueDialog)
            text = screen_text(app)
            for label in ("Jetzt senden (j)", "Erneut versuchen (e)", "Entfernen (n)"):
                assert label in text, text
            await pilot.press("d")  # the English letter does nothing here
            await pilot.pause()
            assert len(spool().entries()) == 1
            await pilot.press("n")
            await wait_for(pilot, lambda: not spool().entries())
    finally:
        from config.i18n import set_language

        set_language("en")
