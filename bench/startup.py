#!/usr/bin/env python3
"""Start-up time to the first paint and peak memory of one console session.

Starts the real app (tui.app.run, as `mailconsole` does) on an 80x24 pseudo-terminal,
N times per mode, and reports the time from spawning the process until the first
screen (the bytes containing "Sender address") has arrived, and the session's peak RSS
(ru_maxrss of the process).  Targets (issue 6): <= 0.4 s and <= 45 MB.

Usage:
  .venv/bin/python bench/startup.py [--runs 5] [--json]
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


def one_run(mode: str, term: str, workdir: Path) -> tuple[float, float]:
    """(seconds to first paint, peak RSS in MB) of one session."""
    config = workdir / "mail.toml"
    session = B.PtySession(B.app_argv(config, mode), B.app_env(term), cwd=str(B.REPO))
    painted = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and painted is None:
        session.read(0.02)
        if MARK in session.output:
            painted = time.monotonic() - session.started
    session.settle(quiet=0.5, timeout=10)
    session.close(quit_keys=b"\x11")  # Ctrl+Q (nothing unsaved: quits)
    rss_mb = session.rusage.ru_maxrss / 1024 if session.rusage else float("nan")
    if painted is None:
        raise RuntimeError(f"no first paint in {mode} mode: {bytes(session.output)[-300:]!r}")
    return painted, rss_mb


def python_baseline(runs: int) -> float:
    """Median wall time of `python -c pass` (the floor for any Python program)."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([str(B.PYTHON), "-c", "pass"], check=True)
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"machine": machine(),
                                 "python -c pass": python_baseline(args.runs)}
    with tempfile.TemporaryDirectory(prefix="mailconsole-startup-") as tmp:
        for mode, term in (("basic", "vt100"), ("rich", "xterm-256color")):
            runs = [one_run(mode, term, Path(tmp)) for _ in range(args.runs)]
            times = sorted(t for t, _ in runs)
            report[mode] = {"first paint s": {"min": times[0], "median": statistics.median(times),
                                              "max": times[-1]},
                            "peak RSS MB": max(r for _, r in runs)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    m = report["machine"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, load {m['load']}")
    print(f"python -c pass: {report['python -c pass']:.3f} s")
    for mode in ("basic", "rich"):
        r = report[mode]
        fp = r["first paint s"]
        print(f"{mode:5}  first paint  min {fp['min']:.3f}  median {fp['median']:.3f}  "
              f"max {fp['max']:.3f} s   peak RSS {r['peak RSS MB']:.1f} MB   ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
