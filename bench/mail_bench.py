#!/usr/bin/env python3
"""Wall time of one test mail: mailconsole vs swaks vs msmtp.

All clients send to the same loopback STARTTLS + AUTH PLAIN server (the
aiosmtpd capture server of tests/servers/smtp.py, trustme certificate), with
certificate verification on against the test CA.  Runs are interleaved
(each round runs every client once, in rotating order) so that drift of the
machine hits every client alike.  Prints the median per client and the
ratio to swaks (the issue's target: mailconsole no slower than swaks), and
the median CPU time (user + system, getrusage of the child) of one run: less
noisy than wall time on a shared machine (the server's time is not in it).

    .venv/bin/python bench/mail_bench.py [-n RUNS] [--tree DIR ...]

Rows:
  "(dev venv)"  the development venv (.venv, editable install of this tree):
                its .pth finder imports pathlib, re, urllib.parse... into every
                interpreter start, the product does not;
  "(installed)" a regular (non-editable) install of this working tree in a
                throw-away venv made from the same base interpreter, made the way
                bench/cli_speed.py --installed makes it (pip cannot build a wheel
                offline here: packages copied into site-packages, compiled, the
                command pip would install written): how the product is deployed;
  "python -S"   the dev venv's CLI without site's start-up hooks;
  "python -c"   the mailer API called directly (no CLI), for reference;
  "--tree DIR"  adds a regular-install row for another copy of the source
                tree (e.g. the tree before a change), for interleaved A/B.
Bytecode caching is allowed (as for any installed program).  The installed
rows run outside the tree (cwd a temporary directory, no PYTHONPATH), so they
import only the installed copy.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
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


def installed_venv(tmp: Path, root: Path) -> str:
    """A regular install of the tree ``root`` in a throw-away venv under
    ``tmp``, made by bench/cli_speed.py's installed_venv (the one place that
    says what an install looks like).  Returns that venv's python."""
    import cli_speed  # bench/ is sys.path[0]

    tmp.mkdir(parents=True, exist_ok=True)
    return cli_speed.installed_venv(tmp, root)


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


# name -> (argv, stdin, env, cwd)
Case = tuple[list[str], bytes | None, dict[str, str], Path]


def api_call(config: Path) -> str:
    return ("import sys, tomllib; from config.model import Settings; import mailer; "
            f"s = Settings.from_mapping(tomllib.load(open({str(config)!r}, 'rb'))); "
            f"r = mailer.send_test_mail(settings=s, recipient={RCPT!r}); "
            "sys.exit(0 if r.ok else 1)")


def commands(server: CaptureServer, tmp: Path, trees: list[Path]) -> dict[str, Case]:
    config = tmp / "mail.toml"
    write_config(config, server)
    mailconsole = ROOT / ".venv" / "bin" / "mailconsole"
    py = sys.executable
    message = (f"From: {SENDER}\r\nTo: {RCPT}\r\nSubject: bench\r\n\r\nbench body\r\n").encode()
    # An installed program has its bytecode cached; without this (a developer
    # shell often sets it) every run would compile our modules from source.
    base_env = dict(os.environ, HOME=str(tmp))
    for var in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "MAILCONSOLE_CONFIG",
                "MAILCONSOLE_DEBUG"):
        base_env.pop(var, None)
    dev_env = dict(base_env, PYTHONPATH=str(ROOT))
    outside = tmp / "cwd"
    outside.mkdir(exist_ok=True)
    test_mail = ["--config", str(config), "test-mail", "--to", RCPT]
    cmds: dict[str, Case] = {}
    if mailconsole.exists():
        cmds["mailconsole test-mail (dev venv)"] = (
            [str(mailconsole), *test_mail], None, dev_env, ROOT)
    installed = installed_venv(tmp / "installed", ROOT)
    cmds["mailconsole test-mail (installed)"] = (
        [str(Path(installed).parent / "mailconsole"), *test_mail], None, base_env, outside)
    for i, tree in enumerate(trees):
        python = installed_venv(tmp / f"tree{i}", tree)
        cmds[f"test-mail (installed {tree.name})"] = (
            [str(Path(python).parent / "mailconsole"), *test_mail], None, base_env, outside)
    if mailconsole.exists():
        # The same command without site's start-up hooks (python -S; PYTHONPATH
        # finds the code): what the editable install's import hook costs.
        cmds["mailconsole, python -S"] = (
            [py, "-S", "-m", "mailconsole", *test_mail], None, dev_env, ROOT)
    cmds["python -c API (dev venv)"] = ([py, "-c", api_call(config)], None, dev_env, ROOT)
    cmds["python -c API (installed)"] = ([installed, "-c", api_call(config)], None,
                                         base_env, outside)
    if shutil.which("swaks"):
        cmds["swaks"] = ([
            "swaks", "--silent", "2", "--server", server.host, "--port", str(server.port),
            "--tls", "--tls-verify", "--tls-ca-path", server.ca_file,
            "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
            "--from", SENDER, "--to", RCPT, "--helo", "bench.example",
        ], None, base_env, outside)
    if shutil.which("msmtp"):
        cmds["msmtp"] = ([
            "msmtp", "--file=/dev/null", f"--host={server.host}", f"--port={server.port}",
            "--tls=on", "--tls-starttls=on", f"--tls-trust-file={server.ca_file}",
            "--auth=plain", f"--user={USER}", f"--passwordeval=echo {PASSWORD}",
            f"--from={SENDER}", "--", RCPT,
        ], message, base_env, outside)
    return cmds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="also measure a regular install of this copy of the source "
                             "tree (A/B)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    ca = TestCA(tmp / "certs")
    server = CaptureServer(ca, tls="starttls", auth=True, user=USER, password=PASSWORD).start()
    try:
        cmds = commands(server, tmp, [t.resolve() for t in args.tree])
        load_before = load()
        names = list(cmds)
        times: dict[str, list[float]] = {n: [] for n in names}
        cpu: dict[str, list[float]] = {n: [] for n in names}
        for name in names:  # warm-up (page cache, pyc files), not counted
            argv, stdin, env, cwd = cmds[name]
            subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=cwd, check=False)
        for i in range(args.runs):
            order = names[i % len(names):] + names[:i % len(names)]
            for name in order:
                argv, stdin, env, cwd = cmds[name]
                before = len(server.messages)
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                proc = subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=cwd)
                elapsed = time.perf_counter() - t0
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                server.wait_for_messages(before + 1, timeout=5)
                if proc.returncode != 0 or len(server.messages) != before + 1:
                    out = (proc.stdout + proc.stderr).decode(errors="replace")[-400:]
                    print(f"{name}: run {i} failed (exit {proc.returncode}): {out}",
                          file=sys.stderr)
                    return 1
                times[name].append(elapsed)
                cpu[name].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        print(f"machine: {machine()}")
        print(f"load average before/after: {load_before} / {load()}")
        print(f"runs: {args.runs} per client, interleaved; loopback STARTTLS + AUTH PLAIN, "
              "certificates verified")
        base = statistics.median(times["swaks"]) if "swaks" in times else None
        print(f"{'client':<36}{'median':>10}{'min':>10}{'max':>10}{'vs swaks':>10}"
              f"{'cpu':>10}")
        for name in names:
            med = statistics.median(times[name])
            ratio = f"{med / base:.2f}x" if base else "-"
            print(f"{name:<36}{med * 1000:>8.0f}ms{min(times[name]) * 1000:>8.0f}ms"
                  f"{max(times[name]) * 1000:>8.0f}ms{ratio:>10}"
                  f"{statistics.median(cpu[name]) * 1000:>8.0f}ms")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
