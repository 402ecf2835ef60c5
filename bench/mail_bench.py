#!/usr/bin/env python3
"""Wall time of one test mail: mailconsole vs swaks vs msmtp.

All clients send to the same loopback STARTTLS + AUTH PLAIN server (the
aiosmtpd capture server of tests/servers/smtp.py, trustme certificate), with
certificate verification on against the test CA.  Runs are interleaved
(each round runs every client once, in rotating order) so that drift of the
machine hits every client alike.  Prints the median per client and the
ratio to swaks (the issue's target: mailconsole no slower than swaks).

    .venv/bin/python bench/mail_bench.py [-n RUNS]

The "python -c" row is the mailer called directly (no CLI), for reference;
the "python -S" row is the CLI without site's start-up hooks (a development
venv's editable install imports pathlib and importlib.util in a .pth hook).
Bytecode caching is allowed (as for any installed program).
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

from tests.servers.certs import TestCA  # noqa: E402
from tests.servers.smtp import CaptureServer  # noqa: E402

USER = "bench@example.org"
PASSWORD = "bench-password-1234"
SENDER = "pbx@example.com"
RCPT = "admin@example.org"


def machine() -> str:
    model = cpu_model()
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def write_config(path: Path, server: CaptureServer) -> None:
    path.write_text(
        "[mail]\n"
        'relay = "external"\n'
        f'sender = "{SENDER}"\n'
        "html = true\n"
        f'test_recipient = "{RCPT}"\n'
        "[mail.smtp]\n"
        f'server = "{server.address}"\n'
        'security = "starttls"\n'
        "verify_certificates = true\n"
        f'ca_file = "{server.ca_file}"\n'
        "authentication = true\n"
        f'username = "{USER}"\n'
        f'password = "{PASSWORD}"\n'
        "timeout = 15\n"
    )
    path.chmod(0o600)


def commands(server: CaptureServer, tmp: Path) -> dict[str, tuple[list[str], bytes | None]]:
    config = tmp / "mail.toml"
    write_config(config, server)
    mailconsole = ROOT / ".venv" / "bin" / "mailconsole"
    py = sys.executable
    message = (f"From: {SENDER}\r\nTo: {RCPT}\r\nSubject: bench\r\n\r\nbench body\r\n").encode()
    cmds: dict[str, tuple[list[str], bytes | None]] = {}
    if mailconsole.exists():
        cmds["mailconsole test-mail"] = (
            [str(mailconsole), "--config", str(config), "test-mail", "--to", RCPT], None)
        # The same command without site's start-up hooks (python -S; PYTHONPATH
        # finds the code): what the editable install's import hook costs.
        cmds["mailconsole, python -S"] = (
            [py, "-S", "-m", "mailconsole", "--config", str(config), "test-mail", "--to", RCPT],
            None)
    cmds["python -c (mailer API)"] = ([py, "-c", (
        "import sys, tomllib; from config.model import Settings; import mailer; "
        f"s = Settings.from_mapping(tomllib.load(open({str(config)!r}, 'rb'))); "
        f"r = mailer.send_test_mail(settings=s, recipient={RCPT!r}); sys.exit(0 if r.ok else 1)"
    )], None)
    if shutil.which("swaks"):
        cmds["swaks"] = ([
            "swaks", "--silent", "2", "--server", server.host, "--port", str(server.port),
            "--tls", "--tls-verify", "--tls-ca-path", server.ca_file,
            "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
            "--from", SENDER, "--to", RCPT, "--helo", "bench.example",
        ], None)
    if shutil.which("msmtp"):
        cmds["msmtp"] = ([
            "msmtp", "--file=/dev/null", f"--host={server.host}", f"--port={server.port}",
            "--tls=on", "--tls-starttls=on", f"--tls-trust-file={server.ca_file}",
            "--auth=plain", f"--user={USER}", f"--passwordeval=echo {PASSWORD}",
            f"--from={SENDER}", "--", RCPT,
        ], message)
    return cmds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    ca = TestCA(tmp / "certs")
    server = CaptureServer(ca, tls="starttls", auth=True, user=USER, password=PASSWORD).start()
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp))
    # An installed program has its bytecode cached; without this (a developer
    # shell often sets it) every run would compile our modules from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        cmds = commands(server, tmp)
        load_before = load()
        names = list(cmds)
        times: dict[str, list[float]] = {n: [] for n in names}
        for name in names:  # warm-up (page cache, pyc files), not counted
            argv, stdin = cmds[name]
            subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=ROOT, check=False)
        for i in range(args.runs):
            order = names[i % len(names):] + names[:i % len(names)]
            for name in order:
                argv, stdin = cmds[name]
                before = len(server.messages)
                t0 = time.perf_counter()
                proc = subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=ROOT)
                elapsed = time.perf_counter() - t0
                server.wait_for_messages(before + 1, timeout=5)
                if proc.returncode != 0 or len(server.messages) != before + 1:
                    out = (proc.stdout + proc.stderr).decode(errors="replace")[-400:]
                    print(f"{name}: run {i} failed (exit {proc.returncode}): {out}",
                          file=sys.stderr)
                    return 1
                times[name].append(elapsed)
        print(f"machine: {machine()}")
        print(f"load average before/after: {load_before} / {load()}")
        print(f"runs: {args.runs} per client, interleaved; loopback STARTTLS + AUTH PLAIN, "
              "certificates verified")
        base = statistics.median(times["swaks"]) if "swaks" in times else None
        print(f"{'client':<26}{'median':>10}{'min':>10}{'max':>10}{'vs swaks':>10}")
        for name in names:
            med = statistics.median(times[name])
            ratio = f"{med / base:.2f}x" if base else "-"
            print(f"{name:<26}{med * 1000:>8.0f}ms{min(times[name]) * 1000:>8.0f}ms"
                  f"{max(times[name]) * 1000:>8.0f}ms{ratio:>10}")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
