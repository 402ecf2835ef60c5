"""Wall time of the headless read commands ``get``, ``show`` and ``validate``.

    .venv/bin/python bench/cli_speed.py [--runs 40] [--json] [--breakdown]
                                        [--installed [--against REV]]

Runs ``mailconsole get mail.relay``, ``show`` and ``validate`` (against a
realistic config file: the commented template with an external relay set)
and, for reference, ``python -c pass`` and ``python -c 'import config.model'``
with the SAME interpreter, interleaved, ``--runs`` times each after three
warm-up rounds, and prints the median and the minimum wall time of each.
Target: each command answers within 100 ms (median).  The mailconsole
command is the one installed next to the interpreter (as the README's
``scripts/bootstrap`` installs it into .venv), else ``python -m mailconsole``.

Fairness: both sides run with the same interpreter and environment, and with
byte-code caching ON (``PYTHONDONTWRITEBYTECODE`` removed, the tree compiled
first): a real install has its ``.pyc`` files, and without them every run
recompiles the edited modules (~10 ms each).  The machine (CPU, cores, load
average before and after) is printed with the results.

``--installed`` also measures a regular (non-editable) install of this working
tree in a throw-away venv made from the same base interpreter, with that
venv's ``python -c pass`` as the baseline: the packages copied into
site-packages and compiled, and ``bin/mailconsole`` exactly as ``pip install
--no-deps --no-build-isolation`` writes it (pip's console-script wrapper; for an older
tree with a ``script-files`` script, that script with ``#!python`` replaced by
the interpreter).  That is how the product is deployed, and the figure
that matters: the development venv's editable install adds a ``.pth`` finder
that imports ``pathlib``, ``re``, ``enum``, ``urllib.parse``... into *every*
interpreter, ``python -c pass`` included, which makes the baseline slower and
our own imports of those modules free.  ``--against REV`` installs git
revision REV the same way and runs its three commands in the same rounds
(an A/B under the same load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_model  # bench/ is sys.path[0]

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> str:
    cpu = cpu_model()
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def mailconsole_command(python: str) -> list[str]:
    script = Path(python).parent / "mailconsole"
    if script.exists():
        return [str(script)]
    return [python, "-m", "mailconsole"]


PACKAGES = ("config", "mailer", "tui", "mailconsole")  # pyproject's [tool.setuptools]

# pip's wrapper for a [project.scripts] entry point (what an older tree installs)
CONSOLE_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from mailconsole.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def command_file(root: Path, python: Path) -> str:
    """The ``bin/mailconsole`` pip installs for the tree at ``root``: its
    ``script-files`` script with the ``#!python`` line rewritten to the venv's
    interpreter (as pip does), else pip's console-script wrapper."""
    import tomllib

    setuptools = tomllib.loads((root / "pyproject.toml").read_text()).get(
        "tool", {}).get("setuptools", {})
    for script in setuptools.get("script-files", []):
        if Path(script).name == "mailconsole":
            first, _, rest = (root / script).read_text().partition("\n")
            assert first == "#!python", first
            return f"#!{python}\n{rest}"
    return CONSOLE_SCRIPT.format(python=python)


def installed_venv(tmp: Path, root: Path = ROOT) -> str:
    """A venv from the same base interpreter with the tree at ``root``
    installed as its wheel would be: the packages copied into site-packages and
    compiled to .pyc, and the command pip installs (see command_file; built
    here because the offline machine may lack the `wheel` package).  Returns
    that venv's python."""
    import shutil

    base = getattr(sys, "_base_executable", sys.executable)
    venv = tmp / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    for package in PACKAGES:
        shutil.copytree(root / package, site / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([str(python), "-m", "compileall", "-q", str(site)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    script = venv / "bin" / "mailconsole"
    script.write_text(command_file(root, python))
    script.chmod(0o755)
    return str(python)


def wall(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall time, CPU time user+sys) of one run.  The CPU time hardly depends on
    what else the machine is doing; the wall time does (a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv}: exit {proc.returncode}: {proc.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def instructions(argv: list[str], env: dict[str, str], cwd: str) -> int:
    """Instructions executed by one run (valgrind's callgrind): deterministic,
    independent of the machine's load."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           *argv], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise SystemExit(f"callgrind gave no count for {argv}: {proc.stderr[-300:]}")


def import_breakdown(python: str, env: dict[str, str], cwd: str,
                     runs: int = 5) -> dict[str, float]:
    """Cumulative import time of each top-level import of `get` (median of runs),
    run as users do: the console script (not ``-m``, which adds runpy)."""
    mc = mailconsole_command(python)
    script = mc if mc[0] == python else [python, *mc]
    argv = [python, "-X", "importtime", *script[1:], "get", "mail.relay"]
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or line.count("|") != 2:
                continue
            _self, cumulative, name = line[len("import time:"):].split("|")
            if name.startswith("  ") or not cumulative.strip().isdigit():
                continue  # nested import: counted in its parent
            samples.setdefault(name.strip(), []).append(int(cumulative) / 1000)
    top = {k: statistics.median(v) for k, v in samples.items()}
    return dict(sorted(top.items(), key=lambda kv: -kv[1])[:8])


def measure(python: str, env: dict[str, str], runs: int, breakdown: bool,
            cwd: str, against: tuple[str, str] | None = None,
            count: bool = False) -> dict[str, object]:
    """Interleaved wall times of the cases with ``python``; medians, minima, ratios.
    ``cwd`` is outside the tree, so ``python -c`` imports the installed packages.
    ``against`` = (label, python of another install): its commands run in the
    same interleaved rounds (an A/B on the same machine state)."""
    mc = mailconsole_command(python)
    cases = {
        "python -c pass": [python, "-c", "pass"],
        "mailconsole get mail.relay": [*mc, "get", "mail.relay"],
        "mailconsole show": [*mc, "show"],
        "mailconsole validate": [*mc, "validate"],
        # the settings model
        "python -c 'import config.model'": [python, "-c", "import config.model"],
    }
    if against is not None:
        label, other = against
        omc = mailconsole_command(other)
        cases.update({
            f"{label}: get mail.relay": [*omc, "get", "mail.relay"],
            f"{label}: show": [*omc, "show"],
            f"{label}: validate": [*omc, "validate"],
        })
    top = import_breakdown(python, env, cwd) if breakdown else {}
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(runs + 3):  # 3 warm-up rounds (page cache, .pyc files)
        for name, argv in cases.items():
            t, c = wall(argv, env, cwd)
            if round_ >= 3:
                times[name].append(t)
                cpu[name].append(c)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    minima = {name: min(ts) for name, ts in times.items()}
    base, base_min = medians["python -c pass"], minima["python -c pass"]
    return {
        "python": python,
        "command": " ".join(mc),
        "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
        "ratio": {k: round(v / base, 2) for k, v in medians.items()},
        "min_ms": {k: round(v * 1000, 1) for k, v in minima.items()},
        "ratio_of_minima": {k: round(v / base_min, 2) for k, v in minima.items()},
        "cpu_median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in cpu.items()},
        "import_ms_get": top,
        "instructions_m": {k: round(instructions(argv, env, cwd) / 1e6, 1)
                           for k, argv in cases.items()} if count else {},
    }


def show(title: str, r: dict[str, object]) -> None:
    med, ratio = r["median_ms"], r["ratio"]
    mins, ratio_min = r["min_ms"], r["ratio_of_minima"]
    assert isinstance(med, dict) and isinstance(ratio, dict)
    assert isinstance(mins, dict) and isinstance(ratio_min, dict)
    cpu = r["cpu_median_ms"]
    assert isinstance(cpu, dict)
    print(f"{title}: {r['command']}")
    for name in med:
        print(f"  {name:<33} median {med[name]:7.1f} ms  min {mins[name]:7.1f} ms  "
              f"cpu {cpu[name]:6.1f} ms  ratio {ratio[name]:5.2f}")
    worst = max(v for k, v in med.items() if k.startswith("mailconsole"))
    print(f"  slowest command: median {worst:.1f} ms (target <= {TARGET_MS} ms): "
          f"{'met' if worst <= TARGET_MS else 'MISSED'}")
    counted = r["instructions_m"]
    if isinstance(counted, dict) and counted:
        print("  instructions executed (callgrind, millions; ratio to python -c pass):")
        base = counted["python -c pass"]
        for name, m in counted.items():
            print(f"    {name:<33} {m:8.1f} M  {m / base:5.2f}x")
    top = r["import_ms_get"]
    if isinstance(top, dict) and top:
        print("  top-level imports of `mailconsole get` (cumulative ms, -X importtime, "
              "median of 5):")
        for name, ms in top.items():
            print(f"    {name:<40} {ms:6.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--breakdown", action="store_true",
                    help="also show where `get` spends its import time (-X importtime)")
    ap.add_argument("--installed", action="store_true",
                    help="also measure a regular (non-editable) install in a temporary venv")
    ap.add_argument("--against", metavar="REV",
                    help="with --installed: also install git revision REV of this tree "
                         "and run its commands in the same rounds (A/B)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count the instructions of one run of each (valgrind)")
    opts = ap.parse_args()

    result: dict[str, object] = {"machine": machine(), "load_before": load(),
                                 "runs": opts.runs, "target_ms": TARGET_MS}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        config = tmp / "mail.toml"
        env = dict(os.environ, MAILCONSOLE_CONFIG=str(config))
        for var in ("MAILCONSOLE_DEBUG", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH"):
            env.pop(var, None)
        # the .pyc files a real install has (the editable tree may lack them)
        subprocess.run([sys.executable, "-m", "compileall", "-q", "config", "mailconsole"],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*mailconsole_command(sys.executable), "set", "mail.relay=external",
                        "mail.smtp.server=smtp.example.com:587", "mail.smtp.username=pbx",
                        "--password-stdin"], env=env, check=True, cwd=tmp,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, input=b"pw\n")
        result["dev"] = measure(sys.executable, env, opts.runs, opts.breakdown, tmpdir,
                                count=opts.instructions)
        if opts.installed:
            against = None
            if opts.against:
                old = tmp / "against"
                (old / "tree").mkdir(parents=True)
                archive = subprocess.run(["git", "archive", opts.against], cwd=ROOT, check=True,
                                         capture_output=True).stdout
                subprocess.run(["tar", "-x", "-C", str(old / "tree")], input=archive,
                               check=True)
                against = (opts.against, installed_venv(old, old / "tree"))
            result["installed"] = measure(installed_venv(tmp), env, opts.runs, opts.breakdown,
                                          tmpdir, against, count=opts.instructions)
    result["load_after"] = load()

    if opts.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"machine: {result['machine']}")
        print(f"load average before/after: {result['load_before']} / {result['load_after']}; "
              f"runs: {opts.runs} each, interleaved, after 3 warm-up rounds")
        show("development venv (editable install)", result["dev"])  # type: ignore[arg-type]
        if "installed" in result:
            show("regular install (throw-away venv)",
                 result["installed"])  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
