"""The queue under real processes: many writers at once, ``kill -9`` of ``send`` and of
the runner at random moments, a full spool disk.  Real aiosmtpd relays on loopback;
the runner's clock is moved instead of sleeping where a retry must be due.

Each test prints its counts (run with -s to see them; docs/mailer.md quotes them)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from config.service import SettingsService
from mailconsole.cli import main
from mailer import queue as queue_mod
from tests.cli.conftest import ROOT, cli_env

SEED = int(os.environ.get("QUEUE_STRESS_SEED", "16"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def point_at(cfg, address: str) -> None:
    SettingsService(cfg).update({"mail.relay": "external", "mail.smtp.server": address,
                                 "mail.smtp.security": "none",
                                 "mail.smtp.authentication": False,
                                 "mail.smtp.timeout": 10})


def body_of(n: int, lines: int) -> str:
    return "".join(f"{n}:{i:06d} the quick brown fox jumps over the lazy dog\n"
                   for i in range(lines))


def message(n: int, lines: int = 3) -> bytes:
    return (f"To: user{n}@example.org\nSubject: stress {n}\n\n"
            + body_of(n, lines)).encode()


def numbers(server) -> Counter:
    """How often each "stress N" mail arrived."""
    return Counter(int(m.message["Subject"].split()[1]) for m in server.messages)


def spawn(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mailconsole", *argv],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=ROOT, env=cli_env())


def slow_data(server, seconds: float) -> None:
    """The relay records the mail, then waits ``seconds`` before its 250: a client
    killed meanwhile has delivered a mail it does not know about."""
    handler = server._controller.handler
    original = handler.handle_DATA

    async def handle_DATA(srv, session, envelope):
        reply = await original(srv, session, envelope)
        await asyncio.sleep(seconds)
        return reply

    handler.handle_DATA = handle_DATA


def spool() -> queue_mod.Queue:
    return queue_mod.Queue(os.environ["MAILCONSOLE_QUEUE_DIR"])


def test_fifty_mails_from_four_processes_with_the_relay_down_are_all_accepted_then_one_run_sends_each_once(  # noqa: E501
        cfg, smtp_server, monkeypatch, capsys):
    point_at(cfg, f"127.0.0.1:{closed_port()}")

    def send(n: int) -> tuple[int, str]:
        proc = spawn("send", "--to", f"user{n}@example.org")
        _out, err = proc.communicate(message(n), timeout=120)
        return proc.returncode, err.decode()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(send, range(50)))
    assert [code for code, _err in results] == [0] * 50, results
    assert all("will be retried" in err for _code, err in results)
    listed = spool().entries()
    assert len(listed) == 50
    assert sorted(e["recipients"][0] for e in listed) == sorted(
        f"user{n}@example.org" for n in range(50))
    assert {e["state"] for e in listed} == {"waiting"}

    relay = smtp_server(tls="none", auth=False)
    point_at(cfg, relay.address)
    assert main(["queue", "run"]) == 0
    assert relay.messages == []  # the first retry is a minute away: nothing is due yet
    later = time.time() + 61
    monkeypatch.setattr(queue_mod, "CLOCK", lambda: later)
    capsys.readouterr()
    assert main(["queue", "run"]) == 0
    assert "sent 50, waiting 0, failed 0" in capsys.readouterr().out
    assert numbers(relay) == Counter(range(50))  # each exactly once
    assert relay.commands().count("EHLO") == 1  # over one connection
    assert spool().entries() == []
    print(f"\n50 writers: all exit 0 and listed; one run delivered 50 over "
          f"{relay.commands().count('EHLO')} connection")


def test_kill_9_of_send_at_random_moments_never_loses_an_accepted_mail_nor_sends_a_torn_one(
        cfg, smtp_server, monkeypatch):
    relay = smtp_server(tls="none", auth=False)
    slow_data(relay, 0.01)
    point_at(cfg, relay.address)
    # how long one send takes here and now (a loaded machine is slower): the kills
    # are spread from before the accept to after the delivery (four run at once)
    t0 = time.monotonic()
    warm = spawn("send", "--to", "warm-up@example.org")
    warm.communicate(message(999, 3000), timeout=120)
    typical = time.monotonic() - t0
    rng = random.Random(SEED)
    plan = [(n, rng.choice((3, 300, 3000)), rng.uniform(0.3, 3.0) * typical)
            for n in range(200)]

    def send(job: tuple[int, int, float]) -> tuple[int, int | None]:
        n, lines, delay = job
        proc = spawn("send", "--to", f"user{n}@example.org")
        try:
            proc.stdin.write(message(n, lines))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            proc.wait(delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        proc.stderr.close()
        return n, proc.returncode

    with ThreadPoolExecutor(4) as pool:
        codes = dict(pool.map(send, plan))
    accepted = {n for n, code in codes.items() if code == 0}
    killed = [n for n, code in codes.items() if code == -signal.SIGKILL]
    assert set(codes.values()) <= {0, -signal.SIGKILL}, Counter(codes.values())
    assert len(accepted) + len(killed) == 200
    assert accepted and killed

    # the runner, with the clock moved past every retry, until the queue is empty
    later = time.time()
    monkeypatch.setattr(queue_mod, "CLOCK", lambda: later)
    for _pass in range(10):
        later += 3600
        main(["queue", "run"])
        if not spool().ids():
            break
    q = spool()
    assert q.ids() == [] and os.listdir(q.tmp) == []
    assert os.listdir(q.corrupt) == [], "a torn file reached the queue"
    arrived = numbers(relay)
    assert accepted <= set(arrived), sorted(accepted - set(arrived))
    lines = {n: lines for n, lines, _d in plan}
    lines[999] = 3000
    for m in relay.messages:
        n = int(m.message["Subject"].split()[1])
        intact = m.message.get_content().replace("\r\n", "\n") == body_of(n, lines[n])
        assert intact, f"mail {n} arrived torn"  # (no diff of 170 KB bodies)
    history = q.history()
    resends = sum(1 for h in history if h.get("resend"))
    interrupted = sum(1 for h in history if h["result"] == "interrupted")
    duplicates = sum(count - 1 for count in arrived.values())
    assert duplicates <= interrupted and resends <= interrupted
    print(f"\nkill -9 of send: {len(killed)} killed, {len(accepted)} exit 0, "
          f"{len(arrived)} distinct mails delivered (every exit-0 one), "
          f"{duplicates} extra deliveries, {interrupted} interrupted attempts and "
          f"{resends} resends in the history, 0 torn")


def test_kill_9_of_the_runner_mid_transaction_delivers_every_mail_at_least_once(
        cfg, smtp_server, monkeypatch):
    relay = smtp_server(tls="none", auth=False)
    slow_data(relay, 0.02)
    point_at(cfg, relay.address)
    q = spool()
    rng = random.Random(SEED)
    total = 0
    number_of: dict[str, int] = {}

    def refill(n: int) -> None:
        nonlocal total
        for _i in range(n):
            ident = q.accept("pbx@example.com", [f"user{total}@example.org"],
                             message(total).replace(b"\n", b"\r\n"))
            number_of[ident] = total
            total += 1

    refill(40)
    kills = 0
    while kills < 50:
        if len(q.ids()) < 10:
            refill(30)
        before = len(relay.messages)
        proc = spawn("queue", "run")
        proc.stdin.close()
        # kill it while it is sending: once the relay has a new mail from it, after
        # a random 0-60 ms (each mail's transaction takes 20+ ms)
        while len(relay.messages) == before and proc.poll() is None:
            time.sleep(0.002)
        try:
            proc.wait(rng.uniform(0.0, 0.06))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        proc.stderr.close()
    # what is left goes out with a last, uninterrupted run
    later = time.time() + 3600
    monkeypatch.setattr(queue_mod, "CLOCK", lambda: later)
    main(["queue", "run"])
    assert q.ids() == []
    arrived = numbers(relay)
    assert set(arrived) == set(range(total)), "every mail at least once"
    history = q.history()
    resend_ids = [h["id"] for h in history if h.get("resend")]
    # every attempt a kill cut off is in the history ("interrupted"): each may have
    # delivered once more, so a mail never arrives more often than that allows
    interrupted = Counter(number_of[h["id"]] for h in history
                          if h["result"] == "interrupted")
    duplicates = {n: c - 1 for n, c in arrived.items() if c > 1}
    for n, extra in duplicates.items():
        assert extra <= interrupted[n], (n, extra, interrupted[n])
    assert {number_of[i] for i in resend_ids} <= set(interrupted)
    assert sorted(number_of[h["id"]] for h in history if h["result"] == "sent") == list(
        range(total))
    print(f"\nkill -9 of the runner: {kills} kills, {total} mails, all delivered; "
          f"{sum(duplicates.values())} extra deliveries (of {len(duplicates)} mails), "
          f"{sum(interrupted.values())} interrupted attempts and {len(resend_ids)} "
          f"resends recorded in the history")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_spool_disk_gives_75_and_leaves_nothing_partial(cfg, tmp_path, monkeypatch):
    point_at(cfg, f"127.0.0.1:{closed_port()}")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        monkeypatch.setenv("MAILCONSOLE_QUEUE_DIR", str(mount / "spool"))
        q = spool()
        q.ensure()
        st = os.statvfs(mount)
        free = st.f_bavail * st.f_frsize
        with open(mount / "filler", "wb") as f:
            f.write(b"x" * (free - 48 * 1024))

        def send(lines: int) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "mailconsole", "send", "--queue-only",
                                   "--to", "a@example.org"], input=message(1, lines),
                                  capture_output=True, cwd=ROOT, env=cli_env(), timeout=60)

        big = send(3000)  # ~150 KB: does not fit
        assert big.returncode == 75, big.stderr
        assert b"NOT queued" in big.stderr and b"No space left" in big.stderr
        assert os.listdir(q.msg) == [] and os.listdir(q.tmp) == []  # nothing partial
        small = send(3)  # the same spool takes a small mail: it was the space
        assert small.returncode == 0, small.stderr
        assert len(os.listdir(q.msg)) == 1
    finally:
        subprocess.run(["umount", str(mount)], check=False)
