"""Start-up speed of the read-only CLI commands, as a ratio to ``python -c pass``.

    .venv/bin/python bench/cli_speed.py [--runs 40] [--json]

Runs ``mailconsole get mail.relay``, ``show`` and ``validate`` (against a
realistic config file: the commented template with an external relay set)
and the baseline ``python -c pass`` with the SAME interpreter, interleaved,
``--runs`` times each after two warm-up rounds, and prints the median (and,
robust on a shared machine, the minimum) wall time of each and its ratio to
the baseline.  ``python -c 'import config.model'`` is shown as the floor: every
command needs the settings model.  Target (issue 5): ratio <= 2.
The mailconsole command is the installed console script next to the
interpreter (as users run it), else ``python -m mailconsole``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def mailconsole_command() -> list[str]:
    script = Path(sys.executable).parent / "mailconsole"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "mailconsole"]


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv}: exit {proc.returncode}: {proc.stderr.decode()}")
    return elapsed


def import_breakdown(mc: list[str], env: dict[str, str], runs: int = 5) -> dict[str, float]:
    """Cumulative import time of each top-level import of `get` (median of runs)."""
    argv = [sys.executable, "-X", "importtime", *(mc[1:] if len(mc) > 1 else
                                                   ["-m", "mailconsole"]), "get", "mail.relay"]
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or line.count("|") != 2:
                continue
            _self, cumulative, name = line[len("import time:"):].split("|")
            if name.startswith("  ") or not cumulative.strip().isdigit():
                continue  # nested import: counted in its parent
            samples.setdefault(name.strip(), []).append(int(cumulative) / 1000)
    top = {k: statistics.median(v) for k, v in samples.items()}
    return dict(sorted(top.items(), key=lambda kv: -kv[1])[:8])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--breakdown", action="store_true",
                    help="also show where `get` spends its import time (-X importtime)")
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mail.toml"
        env = dict(os.environ, MAILCONSOLE_CONFIG=str(config), PYTHONPATH=str(ROOT))
        env.pop("MAILCONSOLE_DEBUG", None)
        mc = mailconsole_command()
        subprocess.run([*mc, "set", "mail.relay=external", "mail.smtp.server=smtp.example.com:587",
                        "mail.smtp.username=pbx", "--password-stdin"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, input=b"pw\n")
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "mailconsole get mail.relay": [*mc, "get", "mail.relay"],
            "mailconsole show": [*mc, "show"],
            "mailconsole validate": [*mc, "validate"],
            # the floor: only importing the settings model every command needs
            "python -c 'import config.model'": [sys.executable, "-c", "import config.model"],
        }
        breakdown = import_breakdown(mc, env) if opts.breakdown else {}
        times: dict[str, list[float]] = {name: [] for name in cases}
        for round_ in range(opts.runs + 2):
            for name, argv in cases.items():
                t = wall(argv, env)
                if round_ >= 2:
                    times[name].append(t)

    medians = {name: statistics.median(ts) for name, ts in times.items()}
    minima = {name: min(ts) for name, ts in times.items()}
    base = medians["python -c pass"]
    base_min = minima["python -c pass"]
    result = {
        "machine": machine(),
        "command": " ".join(mc),
        "runs": opts.runs,
        "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
        "ratio": {k: round(v / base, 2) for k, v in medians.items()},
        "min_ms": {k: round(v * 1000, 1) for k, v in minima.items()},
        "ratio_of_minima": {k: round(v / base_min, 2) for k, v in minima.items()},
        "target_ratio": 2.0,
        "import_ms_get": breakdown,
    }
    if opts.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"machine: {result['machine']}")
        print(f"command: {result['command']}   runs: {opts.runs} each, interleaved")
        for name in cases:
            print(f"  {name:<32} median {medians[name] * 1000:7.1f} ms  "
                  f"ratio {medians[name] / base:5.2f}   "
                  f"min {minima[name] * 1000:7.1f} ms  ratio {minima[name] / base_min:5.2f}")
        worst = max(v / base for k, v in medians.items() if k.startswith("mailconsole"))
        print(f"worst ratio {worst:.2f} (target <= 2.0): {'met' if worst <= 2 else 'MISSED'}")
        if breakdown:
            print("top-level imports of `mailconsole get` (cumulative ms, -X importtime, "
                  "median of 5):")
            for name, ms in breakdown.items():
                print(f"  {name:<40} {ms:6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
