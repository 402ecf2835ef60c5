#!/usr/bin/env python3
"""The outgoing queue (mailer/queue.py, issue 16) against msmtp.

1. Flush: N waiting mails (default 1000) in a fresh spool, delivered by one
   ``Queue.deliver`` (what ``mailconsole queue run`` does: one connection, RSET
   between mails) to a loopback aiosmtpd relay (tests/servers/smtp.py, plain SMTP,
   no AUTH).  Against msmtp sending the same mails one process per mail (what a
   caller without a queue does), M of them (default 200; mails/s is the rate).
2. Accept: ``Queue.accept`` in-process (the spool write alone), and the wall time of
   one ``mailconsole send --queue-only`` (spool write with
   fsyncs, no delivery), of one ``mailconsole send`` (spool write + delivery) and
   of one ``msmtp`` delivering one mail; interleaved rounds, median.

    .venv/bin/python bench/queue_bench.py [-n 1000] [-m 200] [-r 15]

Every run starts from the same message (1.2 KB).  The relay is aiosmtpd's Sink
handler in a process of its own (``python -m aiosmtpd -n -c aiosmtpd.handlers.Sink``),
so it never competes with the queue for this interpreter's lock.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine_info import cpu_model  # noqa: E402  (bench/ is sys.path[0])

from config.model import Settings  # noqa: E402
from config.service import SettingsService  # noqa: E402
from mailer.queue import Queue  # noqa: E402

SENDER = "pbx@example.com"
BODY = "".join(f"line {i:03d}: voicemail from 201, 0:42 long, please call back\n"
               for i in range(20))


def message(n: int) -> bytes:
    return (f"From: PBX <{SENDER}>\nTo: user{n}@example.org\nSubject: bench {n}\n"
            f"Message-ID: <bench{n}@example.com>\n\n{BODY}").encode()


class Relay:
    """aiosmtpd's Sink (accepts and discards every mail) in its own process."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c",
                                      "aiosmtpd.handlers.Sink", "-l", self.address])
        for _i in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the relay did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def msmtp_argv(server: Relay, rcpt: str) -> list[str]:
    host, port = server.address.rsplit(":", 1)
    return ["msmtp", f"--host={host}", f"--port={port}", "--auth=off", "--tls=off",
            f"--from={SENDER}", "--", rcpt]


def flush(n: int, server: Relay, settings: Settings) -> float:
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        q = Queue(os.path.join(tmp, "spool"))
        for i in range(n):
            q.accept(SENDER, [f"user{i}@example.org"], message(i).replace(b"\n", b"\r\n"))
        t0 = time.perf_counter()
        result = q.deliver(settings)
        elapsed = time.perf_counter() - t0
        assert len(result.sent) == n and q.ids() == [], result
    return elapsed


def msmtp_each(m: int, server: Relay) -> float:
    t0 = time.perf_counter()
    for i in range(m):
        subprocess.run(msmtp_argv(server, f"user{i}@example.org"), input=message(i),
                       check=True, capture_output=True)
    return time.perf_counter() - t0


def one(argv: list[str], data: bytes, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, input=data, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="mails in the queue to flush")
    ap.add_argument("-m", type=int, default=200, help="mails msmtp sends one by one")
    ap.add_argument("-r", type=int, default=15, help="rounds of the accept timing")
    args = ap.parse_args()
    if not shutil.which("msmtp"):
        print("msmtp is not installed (scripts/bootstrap installs it)", file=sys.stderr)
        return 1
    server = Relay()
    try:
        settings = Settings().with_values({
            "mail.relay": "external", "mail.smtp.server": server.address,
            "mail.smtp.security": "none", "mail.smtp.authentication": False})
        print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.2f}, Python {platform.python_version()}")
        flush(50, server, settings)  # warm-up
        queue_s = flush(args.n, server, settings)
        msmtp_s = msmtp_each(args.m, server)
        q_rate, m_rate = args.n / queue_s, args.m / msmtp_s
        print(f"flush: {args.n} mails in {queue_s:.2f} s = {q_rate:.0f} mails/s (one "
              f"connection); msmtp one process per mail: {args.m} in {msmtp_s:.2f} s = "
              f"{m_rate:.0f} mails/s; ratio {q_rate / m_rate:.1f}x")

        with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
            q = Queue(os.path.join(tmp, "spool"))
            data = message(0).replace(b"\n", b"\r\n")
            times = []
            for _i in range(50):
                t0 = time.perf_counter()
                q.accept(SENDER, ["a@example.org"], data)
                times.append(time.perf_counter() - t0)
            print(f"{'Queue.accept (in-process)':28} median "
                  f"{statistics.median(times) * 1000:6.2f} ms  (the spool write: tmp file, "
                  f"fsync, rename, fsync of msg/; {len(times)} runs)")

        with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
            cfg = os.path.join(tmp, "mail.toml")
            SettingsService(Path(cfg)).update(settings.to_flat())
            env = {**os.environ, "MAILCONSOLE_CONFIG": cfg,
                   "MAILCONSOLE_QUEUE_DIR": os.path.join(tmp, "spool"),
                   "PYTHONPATH": str(ROOT)}
            cli = [sys.executable, "-m", "mailconsole", "send", "--to", "a@example.org"]
            rows: dict[str, list[float]] = {"send --queue-only (accept)": [],
                                            "send (accept + deliver)": [],
                                            "msmtp (deliver)": []}
            data = message(0)
            for _round in range(args.r):
                rows["send --queue-only (accept)"].append(
                    one([*cli, "--queue-only"], data, env))
                rows["send (accept + deliver)"].append(one(cli, data, env))
                rows["msmtp (deliver)"].append(
                    one(msmtp_argv(server, "a@example.org"), data, env))
            for name, times in rows.items():
                print(f"{name:28} median {statistics.median(times) * 1000:6.1f} ms  "
                      f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, "
                      f"{len(times)} runs)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
