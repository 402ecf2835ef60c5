"""The outgoing queue (mailer/queue.py) against real aiosmtpd relays on loopback.

Time goes through an injectable clock (``Clock``), never sleeps: a retry "an
hour later" is a clock moved by an hour.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket

import pytest

from config.model import Settings
from mailer import queue as queue_mod
from mailer.queue import Queue
from tests.servers.fixtures import SENTINEL_PASSWORD

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, at: float = T0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


def message(n: int, size: int = 0) -> bytes:
    body = (f"line {n}\r\n" * max(1, size // 10)).encode()
    return (f"From: pbx@example.com\r\nTo: a@example.org\r\nSubject: mail {n}\r\n"
            f"Message-ID: <m{n}@example.com>\r\n\r\n").encode() + body


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plain_settings(address: str, **extra) -> Settings:
    values = {"mail.relay": "external", "mail.smtp.server": address,
              "mail.smtp.security": "none", "mail.smtp.authentication": False,
              "mail.smtp.timeout": 5, **extra}
    return Settings().with_values(values)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def spool(tmp_path, clock) -> Queue:
    return Queue(str(tmp_path / "q"), lifetime_hours=120, clock=clock)


@pytest.fixture
def relay(smtp_server):
    return smtp_server(tls="none", auth=False)


def replace_hook(server, name, hook):
    """Give a CaptureServer's handler another aiosmtpd hook (e.g. handle_RCPT)."""
    setattr(server._controller.handler, name, hook)


def fill(spool: Queue, n: int, **kwargs) -> list[str]:
    """``n`` mails, accepted one millisecond apart (ids in order)."""
    ids = []
    for i in range(n):
        if isinstance(spool.clock, Clock):
            spool.clock.advance(0.001)
        ids.append(spool.accept("pbx@example.com", [f"user{i}@example.org"], message(i),
                                **kwargs))
    return ids


# --- accept -----------------------------------------------------------------------


def test_an_accepted_mail_is_one_complete_file_and_listed_with_the_contract_fields(spool):
    ident = spool.accept("pbx@example.com", ["a@example.org", "b@example.net"], message(1))
    assert os.listdir(spool.tmp) == []
    assert os.listdir(spool.msg) == [ident]
    meta, data = queue_mod.parse_entry(open(os.path.join(spool.msg, ident), "rb").read())
    assert data == message(1) and meta["recipients"] == ["a@example.org", "b@example.net"]
    [entry] = spool.entries()
    contract = {k: entry[k] for k in (
        "id", "state", "attempts", "next_attempt", "age_seconds", "recipients", "size",
        "last_error")}
    assert contract == {"id": ident, "state": "waiting", "attempts": 0,
                        "next_attempt": queue_mod.iso(T0), "age_seconds": 0,
                        "recipients": ["a@example.org", "b@example.net"],
                        "size": len(message(1)), "last_error": None}


def test_ids_sort_in_the_order_mails_were_accepted(spool, clock):
    ids = []
    for i in range(5):
        clock.advance(0.000002)
        ids.append(spool.accept("pbx@example.com", ["a@example.org"], message(i)))
    assert spool.ids() == ids


def test_an_id_that_could_leave_the_spool_is_refused(spool):
    for bad in ("../x", "a/b", "", "-rf", "X" * 3):
        with pytest.raises(ValueError):
            queue_mod.check_id(bad)


# --- delivery ----------------------------------------------------------------------


def test_one_pass_delivers_every_waiting_mail_exactly_once_over_one_connection(spool, relay):
    ids = fill(spool, 20)
    result = spool.deliver(plain_settings(relay.address))
    assert sorted(result.sent) == sorted(ids)
    got = relay.wait_for_messages(20)
    assert len(got) == 20
    assert sorted(m.rcpt_tos[0] for m in got) == sorted(f"user{i}@example.org"
                                                        for i in range(20))
    assert relay.commands().count("EHLO") == 1, "one connection for all"
    assert len({m.peer for m in got}) == 1
    assert spool.entries() == [] and spool.ids() == []
    history = spool.history()
    assert [h["result"] for h in history] == ["sent"] * 20
    assert all(h["code"] == 250 and h["attempt"] == 1 and not h["resend"] for h in history)
    assert spool.deliver(plain_settings(relay.address)).sent == []  # nothing sent twice


def test_mails_go_out_in_order_and_a_rset_separates_them(spool, fault_server):
    server = fault_server(tls="none", offer_auth=False)
    fill(spool, 3)
    spool.deliver(plain_settings(f"127.0.0.1:{server.port}"))
    verbs = [c.split()[0].split(":")[0].upper() for c in server.commands 
             if not c.startswith("<")]
    assert verbs == ["EHLO", "MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA",
                     "RSET", "MAIL", "RCPT", "DATA", "QUIT"]
    rcpts = [c for c in server.commands if c.upper().startswith("RCPT")]
    assert rcpts == [f"RCPT TO:<user{i}@example.org>" for i in range(3)]


def test_a_greylisting_server_gets_the_mail_on_the_retry(spool, relay, clock):
    seen: set[str] = set()

    async def greylist(server, session, envelope, address, rcpt_options):
        if address not in seen:
            seen.add(address)
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    replace_hook(relay, "handle_RCPT", greylist)
    [ident] = fill(spool, 1)
    settings = plain_settings(relay.address)
    first = spool.deliver(settings)
    assert first.deferred == [ident] and relay.messages == []
    [entry] = spool.entries()
    assert entry["attempts"] == 1 and entry["last_error"]["cls"] == "temporary_failure"
    assert entry["next_attempt"] == queue_mod.iso(T0 + 60)
    assert spool.deliver(settings).sent == []  # not due yet: nothing tried
    clock.advance(60)
    assert spool.deliver(settings).sent == [ident]
    assert len(relay.wait_for_messages(1)) == 1
    history = spool.history()
    assert [(h["result"], h["code"], h["attempt"]) for h in history] == [
        ("deferred", 451, 1), ("sent", 250, 2)]
    assert "Greylisted" in history[0]["reply"]


def test_temporary_failures_back_off_1_5_15_30_minutes_then_hourly_until_the_lifetime(
        tmp_path, clock):
    spool = Queue(str(tmp_path / "q"), lifetime_hours=3, clock=clock)
    [ident] = fill(spool, 1)
    settings = plain_settings(f"127.0.0.1:{closed_port()}")
    waits = []
    while True:
        result = spool.deliver(settings)
        assert result.sent == []
        if result.failed:
            break
        [entry] = spool.entries()
        due = float(spool.read_state(ident)["next_attempt"])
        waits.append(round(due - clock()))
        clock.at = due
    assert waits == [60, 300, 900, 1800, 3600, 3600, 3600]
    [entry] = spool.entries()
    assert entry["state"] == "failed" and entry["next_attempt"] is None
    assert entry["last_error"]["cls"] == "refused"
    assert "given up after 3 hours" in entry["last_error"]["message"]


def test_a_5xx_goes_to_failed_at_once_with_exactly_one_notice(tmp_path, relay, clock):
    spool = Queue(str(tmp_path / "q"), notify="admin@example.net", clock=clock)

    async def refuse_some(server, session, envelope, address, rcpt_options):
        if address.startswith("user"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    replace_hook(relay, "handle_RCPT", refuse_some)
    ids = fill(spool, 3)
    settings = plain_settings(relay.address)
    result = spool.deliver(settings)
    assert sorted(result.failed) == sorted(ids) and result.deferred == []
    [notice] = relay.wait_for_messages(1)
    assert notice.rcpt_tos == ["admin@example.net"]
    text = notice.message.get_body(("plain",)).get_content()
    assert all(i in text for i in ids) and "queue retry" in text
    assert {e["state"] for e in spool.entries()} == {"failed"}
    # the same episode: another failed mail gives no second notice
    fill(spool, 1)
    assert len(spool.deliver(settings).failed) == 1
    assert len(relay.messages) == 1
    # the episode ends when the failed mails are handled; the next failure notifies
    for e in spool.entries():
        assert spool.drop(e["id"])
    fill(spool, 1)
    spool.deliver(settings)
    assert len(relay.wait_for_messages(2)) == 2


def test_a_notice_that_fails_never_causes_a_notice_about_it(tmp_path, relay, clock):
    spool = Queue(str(tmp_path / "q"), notify="nobody@example.net", clock=clock)

    async def refuse_all(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user here"

    replace_hook(relay, "handle_RCPT", refuse_all)
    fill(spool, 1)
    spool.deliver(plain_settings(relay.address))
    entries = spool.entries()
    assert len(entries) == 2 and {e["state"] for e in entries} == {"failed"}
    assert [e["notice"] for e in entries].count(True) == 1
    spool.deliver(plain_settings(relay.address), force=True)
    assert len(spool.entries()) == 2  # no notice about the notice, ever
    assert relay.messages == []


def test_a_hung_server_costs_one_deadline_not_the_queue(spool, fault_server):
    server = fault_server("silence", tls="none")
    ids = fill(spool, 3)
    result = spool.deliver(plain_settings(f"127.0.0.1:{server.port}",
                                          **{"mail.smtp.timeout": 1}))
    assert sorted(result.deferred) == sorted(ids)
    assert {e["last_error"]["cls"] for e in spool.entries()} == {"timeout"}


def test_a_server_that_hangs_up_mid_data_leaves_the_rest_due(spool, fault_server):
    server = fault_server("hangup_mid_data", tls="none", offer_auth=False)
    ids = fill(spool, 3)
    result = spool.deliver(plain_settings(f"127.0.0.1:{server.port}"))
    assert result.deferred == ids[:1] and result.sent == []
    states = {e["id"]: e["attempts"] for e in spool.entries()}
    assert states == {ids[0]: 1, ids[1]: 0, ids[2]: 0}


def test_a_claimed_mail_is_never_sent_by_a_second_process(spool, relay, tmp_path):
    ids = fill(spool, 2)
    other = Queue(spool.root)  # a second opener: flock conflicts like another process
    held = other.claim(ids[0])
    assert held is not None
    try:
        result = spool.deliver(plain_settings(relay.address), force=True)
    finally:
        other.release(held)
    assert result.sent == [ids[1]]
    assert spool.ids() == [ids[0]]


def test_a_mail_interrupted_in_flight_is_resent_and_the_resend_is_in_the_history(
        spool, relay):
    [ident] = fill(spool, 1)
    state = spool.read_state(ident, {"created": T0})
    state.update(attempts=1, inflight=True)  # as a runner killed after DATA leaves it
    spool.write_state(ident, state)
    result = spool.deliver(plain_settings(relay.address))
    assert result.sent == [ident] and result.resent == [ident]
    interrupted, sent = spool.history()
    assert (interrupted["result"], interrupted["attempt"]) == ("interrupted", 1)
    assert "may have the mail" in interrupted["reply"]
    assert (sent["result"], sent["attempt"], sent["resend"]) == ("sent", 2, True)


def test_a_torn_entry_is_set_aside_and_never_sent(spool, relay):
    good = spool.accept("pbx@example.com", ["a@example.org"], message(1))
    torn = spool.accept("pbx@example.com", ["b@example.org"], message(2, size=5000))
    path = os.path.join(spool.msg, torn)
    raw = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(raw[: len(raw) // 2])
    flipped = spool.accept("pbx@example.com", ["c@example.org"], message(3))
    path = os.path.join(spool.msg, flipped)
    raw = bytearray(open(path, "rb").read())
    raw[-3] ^= 0x20
    open(path, "wb").write(bytes(raw))
    result = spool.deliver(plain_settings(relay.address))
    assert result.sent == [good]
    assert [m.rcpt_tos for m in relay.wait_for_messages(1)] == [["a@example.org"]]
    assert sorted(os.listdir(spool.corrupt)) == sorted([torn, flipped])
    assert [h["result"] for h in spool.history()].count("corrupt") == 2


def test_the_clean_up_removes_dead_writers_files_but_not_a_live_writers(spool, relay):
    spool.ensure()
    dead = os.path.join(spool.tmp, "dead")
    open(dead, "wb").write(b"MCQ1 12 3")
    live = os.path.join(spool.tmp, "live")
    fd = os.open(live, os.O_WRONLY | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        spool.run(plain_settings(relay.address))
        assert os.listdir(spool.tmp) == ["live"]
    finally:
        os.close(fd)


def test_only_one_runner_at_a_time(spool, relay):
    fill(spool, 1)
    spool.ensure()
    fd = os.open(os.path.join(spool.root, "runner.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = spool.run(plain_settings(relay.address))
        assert result.busy and result.sent == []
    finally:
        os.close(fd)
    assert len(spool.run(plain_settings(relay.address)).sent) == 1


def test_retry_puts_a_failed_mail_back_and_drop_removes_it(spool, relay, clock):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user here"

    replace_hook(relay, "handle_RCPT", refuse)
    a, b = fill(spool, 2)
    settings = plain_settings(relay.address)
    spool.deliver(settings)
    assert not spool.retry("20000101-000000000000-0000000000")  # unknown
    assert spool.retry(a) and not spool.retry(a)  # only a failed one
    assert spool.entry(a)["state"] == "waiting"
    assert spool.drop(b) and spool.entry(b) is None
    assert spool.history()[-1]["result"] == "dropped"


def test_the_history_is_rotated_by_size_and_read_across_the_files(spool, monkeypatch):
    monkeypatch.setattr(queue_mod, "HISTORY_MAX", 2000)
    spool.ensure()
    for i in range(100):
        spool.log({"id": f"x{i}", "result": "sent"})
    names = sorted(n for n in os.listdir(spool.root) if n.startswith("history"))
    assert names == ["history.log", "history.log.1", "history.log.2", "history.log.3"]
    assert all(os.path.getsize(os.path.join(spool.root, n)) < 2200 for n in names)
    assert [r["id"] for r in spool.history(3)] == ["x97", "x98", "x99"]


def test_no_secret_reaches_the_history_or_the_state(spool, smtp_server):
    server = smtp_server(tls="starttls", auth=True, password=SENTINEL_PASSWORD)
    settings = Settings().with_values(server.settings_values(
        **{"mail.smtp.username": "wrong-user"}))
    fill(spool, 2)
    result = spool.deliver(settings)
    assert len(result.deferred) == 2  # a login problem is the appliance's: mail waits
    files = [os.path.join(spool.root, "history.log")]
    files += [os.path.join(spool.state_dir, n) for n in os.listdir(spool.state_dir)]
    import base64

    for path in files:
        text = open(path, encoding="utf-8").read()
        assert SENTINEL_PASSWORD not in text
        assert base64.b64encode(SENTINEL_PASSWORD.encode()).decode() not in text
    assert json.loads(open(files[0]).readline())["class"] == "auth_failed"


def test_with_the_internal_relay_left_over_mail_goes_to_sendmail(spool, recording_sendmail):
    [ident] = fill(spool, 1)
    settings = Settings().with_values({"mail.relay": "internal",
                                       "mail.internal.sendmail": str(recording_sendmail.path)})
    assert spool.deliver(settings).sent == [ident]
    assert recording_sendmail.argv() == ["-i", "-f", "pbx@example.com", "--",
                                         "user0@example.org"]
    assert b"Subject: mail 0" in recording_sendmail.stdin()


@pytest.mark.parametrize("cls, step, temporary", [
    ("temporary_failure", "rcpt_to", True), ("rate_limited", "mail_from", True),
    ("refused", "connect", True), ("timeout", "data", True),
    ("dns", "resolve", True), ("cert_untrusted", "certificate", True),
    ("auth_failed", "login", True), ("invalid_settings", "settings", True),
    ("recipient_refused", "rcpt_to", False), ("message_refused", "data", False),
    ("relay_denied", "rcpt_to", False), ("sender_refused", "mail_from", False),
    ("invalid_address", "settings", False),
    ("sendmail_failed", "sendmail", False), ("sendmail_tempfail", "sendmail", True),
])
def test_retry_or_fail_follows_the_diagnosis_and_whether_the_mail_itself_was_refused(
        cls, step, temporary):
    """The diagnosis's temporary classes are retried; a refusal of this mail (its
    transaction) fails at once; a problem before it (network, TLS, login, settings)
    is the same for every mail: it waits until the settings are fixed."""
    from mailer.report import Failure, Report

    report = Report(failure=Failure(cls=cls, message="", advice="", step=step))
    assert queue_mod.is_temporary(report) is temporary


def test_a_mail_sent_by_a_process_that_died_before_its_history_line_gets_one(spool, relay):
    """The window after the server's 250: the mail leaves msg/ by one rename to done/;
    a process killed before it wrote the history line leaves it there, and the next
    run writes the line (never sending it again)."""
    [ident] = fill(spool, 1)
    os.rename(os.path.join(spool.msg, ident), os.path.join(spool.done, ident))
    result = spool.run(plain_settings(relay.address))
    assert result.sent == [] and relay.messages == []
    [h] = spool.history()
    assert (h["id"], h["result"]) == (ident, "sent") and "after a crash" in h["reply"]
    assert os.listdir(spool.done) == []
