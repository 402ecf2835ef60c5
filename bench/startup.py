#!/usr/bin/env python3
"""Start-up time to the first paint and peak memory of one console session.

Starts the real ``mailconsole`` command (the console script next to the
interpreter, ``--basic`` under TERM=vt100 and ``--rich`` under
TERM=xterm-256color) on an 80x24 pseudo-terminal and reports the time from
spawning the process until the first screen (the bytes containing "Sender
address") has arrived, and the session's peak RSS (ru_maxrss).

Each mode runs twice per round: **cold** (no frame cache: Textual paints the first
screen) and **cached** (the frame cache, tui/console/frame_cache.py, holds the start-up screen
of an earlier session with the same inputs: it is painted before Textual is
imported).  For both, the column "Textual frame" is when Textual itself drew its
first frame (logged by the console driver through ``MAILCONSOLE_STARTUP_LOG``; on a
cached start that frame costs no bytes, so it cannot be seen on the wire): the app
answers keys from about then.

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

from machine_info import cpu_model  # bench/ is sys.path[0]

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


def session_env(term: str, tree: Path | None = None,
                cache: Path | None = None) -> dict[str, str]:
    env = B.app_env(term)
    if cache is not None:
        env["MAILCONSOLE_FRAME_CACHE"] = str(cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a real install has its .pyc files
    if tree is not None:
        env["PYTHONPATH"] = str(tree)  # ahead of the venv's editable install
    return env


def one_run(argv: list[str], term: str, tree: Path | None = None,
            cache: Path | None = None) -> tuple[float, float, float]:
    """(seconds to first paint, seconds to Textual's first frame, peak RSS in MB)
    of one session (Textual's frame is NaN for the stock form)."""
    env = session_env(term, tree, cache)
    fd, log = tempfile.mkstemp(prefix="mailconsole-startup-log-")
    os.close(fd)
    env["MAILCONSOLE_STARTUP_LOG"] = log
    spawned = time.time()
    session = B.PtySession(argv, env, cwd=str(tree or B.REPO))
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
    with open(log, encoding="utf-8") as fh:
        lines = [line.split() for line in fh if " first-frame " in line]
    os.unlink(log)
    textual = float(lines[0][0]) - spawned if lines else float("nan")
    return painted, textual, rss_mb


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
        frames = Path(tmp) / "frames"
        cases: dict[str, tuple] = {
            "basic cold": (mailconsole_argv(config, "basic"), "vt100"),
            "basic cached": (mailconsole_argv(config, "basic"), "vt100", None, frames),
            "rich cold": (mailconsole_argv(config, "rich"), "xterm-256color"),
            "rich cached": (mailconsole_argv(config, "rich"), "xterm-256color", None,
                            frames),
            "stock Textual form": ([str(B.PYTHON), str(stock)], "vt100"),
        }
        for tree in trees:
            cases[f"basic {tree.name}"] = (mailconsole_argv(config, "basic"), "vt100", tree)
            cases[f"rich {tree.name}"] = (mailconsole_argv(config, "rich"),
                                          "xterm-256color", tree)
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
        passes = []
        one_run(*cases["basic cold"])  # warm-up: page cache
        one_run(*cases["basic cached"])  # fills the frame cache
        one_run(*cases["rich cached"])
        for _ in range(args.runs):
            passes.append(python_pass())
            for name, case in cases.items():
                results[name].append(one_run(*case))
    report["python -c pass"] = statistics.median(passes)
    for name, runs in results.items():
        times = sorted(t for t, _, _ in runs)
        frames_s = sorted(f for _, f, _ in runs)
        report[name] = {"first paint s": {"min": times[0], "median": statistics.median(times),
                                          "max": times[-1]},
                        "Textual frame s": {"min": frames_s[0],
                                            "median": statistics.median(frames_s),
                                            "max": frames_s[-1]},
                        "peak RSS MB": max(r for _, _, r in runs)}
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
    print(f"{'':<19} {'first paint s (min/median/max)':<32} {'Textual frame s':<24} peak RSS")
    for name in cases:
        r = report[name]
        assert isinstance(r, dict)
        fp, tf = r["first paint s"], r["Textual frame s"]
        frame = ("-" if tf["median"] != tf["median"]  # NaN: the stock form logs nothing
                 else f"{tf['min']:.3f} / {tf['median']:.3f} / {tf['max']:.3f}")
        print(f"{name:<19} {fp['min']:.3f} / {fp['median']:.3f} / {fp['max']:.3f}"
              f"{'':<12} {frame:<24} {r['peak RSS MB']:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
