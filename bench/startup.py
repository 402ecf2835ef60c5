#!/usr/bin/env python3
"""Start-up time to the first paint and peak memory of one console session.

Starts the real ``mailconsole`` command (the console script next to the
interpreter, ``--basic`` under TERM=vt100 and ``--rich`` under
TERM=xterm-256color) on an 80x24 pseudo-terminal and reports the time from
spawning the process until the first screen (the bytes containing "Sender
address") has arrived, and the session's peak RSS (ru_maxrss).  Targets
(issue 6): <= 0.4 s and <= 45 MB.

For comparison, each round also starts a stock Textual app with a 12-field
form (the reference's comparison point: default widgets and CSS, no config,
no console layer) and ``python -c pass``.  The cases run interleaved, so a
change in the machine's load hits all of them alike; byte-code caching is on
(``PYTHONDONTWRITEBYTECODE`` removed, the tree compiled first), as in a real
install.  The machine and its load average before and after are printed.

For an A/B comparison, ``--tree DIR`` (repeatable) adds the two sessions
run from another copy of the source tree (``PYTHONPATH=DIR``, the same venv),
interleaved with the rest: e.g. a copy of the tree before a change.

Usage:
  .venv/bin/python bench/startup.py [--runs 7] [--json] [--tree DIR ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_model  # noqa: E402  (bench/ is sys.path[0])

HERE = Path(__file__).resolve().parent


def _bytes_module():
    spec = importlib.util.spec_from_file_location("mailconsole_bench_bytes", HERE / "bytes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


B = _bytes_module()
MARK = b"Sender address"


STOCK_FORM = """
from textual.app import App
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet


class Form(App):
    def compose(self):
        with VerticalScroll():
            with RadioSet():
                yield RadioButton("internal", value=True)
                yield RadioButton("external")
            yield Label("Sender address")
            yield Input("pbx@example.com")
            yield Label("Sender name")
            yield Input()
            yield Checkbox("HTML mails", value=True)
            yield Label("SMTP server")
            yield Input()
            with RadioSet():
                yield RadioButton("TLS")
                yield RadioButton("STARTTLS", value=True)
                yield RadioButton("none")
            yield Checkbox("Verify certificates", value=True)
            yield Checkbox("SMTP with authentication", value=True)
            yield Checkbox("SMTP after POP3")
            yield Label("POP3 server")
            yield Input()
            yield Label("User name")
            yield Input()
            yield Label("Password")
            yield Input(password=True)


Form().run()
"""


def mailconsole_argv(config: Path, mode: str) -> list[str]:
    script = Path(B.PYTHON).parent / "mailconsole"
    command = [str(script)] if script.exists() else [str(B.PYTHON), "-m", "mailconsole"]
    return [*command, "--config", str(config), f"--{mode}"]


def session_env(term: str, tree: Path | None = None) -> dict[str, str]:
    env = B.app_env(term)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a real install has its .pyc files
    if tree is not None:
        env["PYTHONPATH"] = str(tree)  # ahead of the venv's editable install
    return env


def one_run(argv: list[str], term: str, tree: Path | None = None) -> tuple[float, float]:
    """(seconds to first paint, peak RSS in MB) of one session."""
    session = B.PtySession(argv, session_env(term, tree), cwd=str(tree or B.REPO))
    painted = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and painted is None:
        session.read(0.005)
        if MARK in session.output:
            painted = time.monotonic() - session.started
    session.settle(quiet=0.5, timeout=10)
    session.close(quit_keys=b"\x11")  # Ctrl+Q (nothing unsaved: quits)
    rss_mb = session.rusage.ru_maxrss / 1024 if session.rusage else float("nan")
    if painted is None:
        raise RuntimeError(f"no first paint: {argv}: {bytes(session.output)[-300:]!r}")
    return painted, rss_mb


def python_pass() -> float:
    """Wall time of one `python -c pass` (the floor for any Python program)."""
    t0 = time.monotonic()
    subprocess.run([str(B.PYTHON), "-c", "pass"], check=True, env=session_env("vt100"))
    return time.monotonic() - t0


def machine() -> dict[str, str]:
    cpu = cpu_model()
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="also run the sessions from this copy of the source tree")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.tree]
    for tree in [B.REPO, *trees]:
        subprocess.run([str(B.PYTHON), "-m", "compileall", "-q", "config", "mailconsole",
                        "tui", "mailer"], cwd=tree, env=session_env("vt100", tree),
                       check=True, stdout=subprocess.DEVNULL)
    report: dict[str, object] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="mailconsole-startup-") as tmp:
        config = Path(tmp) / "mail.toml"  # missing: the defaults, as on a fresh appliance
        stock = Path(tmp) / "stock_form.py"
        stock.write_text(STOCK_FORM)
        cases: dict[str, tuple] = {
            "basic": (mailconsole_argv(config, "basic"), "vt100"),
            "rich": (mailconsole_argv(config, "rich"), "xterm-256color"),
            "stock Textual form": ([str(B.PYTHON), str(stock)], "vt100"),
        }
        for tree in trees:
            cases[f"basic {tree.name}"] = (mailconsole_argv(config, "basic"), "vt100", tree)
            cases[f"rich {tree.name}"] = (mailconsole_argv(config, "rich"),
                                          "xterm-256color", tree)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        passes = []
        one_run(*cases["basic"])  # warm-up: page cache
        for _ in range(args.runs):
            passes.append(python_pass())
            for name, case in cases.items():
                results[name].append(one_run(*case))
    report["python -c pass"] = statistics.median(passes)
    for name, runs in results.items():
        times = sorted(t for t, _ in runs)
        report[name] = {"first paint s": {"min": times[0], "median": statistics.median(times),
                                          "max": times[-1]},
                        "peak RSS MB": max(r for _, r in runs)}
    report["load after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    m = report["machine"]
    assert isinstance(m, dict)
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, "
          f"load before {m['load']}, after {report['load after']}")
    print(f"python -c pass: median {report['python -c pass']:.3f} s   "
          f"({args.runs} runs each, interleaved)")
    for name in cases:
        r = report[name]
        assert isinstance(r, dict)
        fp = r["first paint s"]
        print(f"{name:<19} first paint  min {fp['min']:.3f}  median {fp['median']:.3f}  "
              f"max {fp['max']:.3f} s   peak RSS {r['peak RSS MB']:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
