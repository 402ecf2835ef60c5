"""Fixtures for the CLI tests: run ``main()`` in-process or as a subprocess,
and check after every test that the sentinel password was never printed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailconsole.cli import main
from tests.servers.fixtures import SENTINEL_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = SENTINEL_PASSWORD


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        import json

        return json.loads(self.out)


class Recorder:
    """Every output of the test, searched for the sentinel at the end."""

    def __init__(self) -> None:
        self.outputs: list[str] = []

    def add(self, *texts: str) -> None:
        self.outputs.extend(texts)


@pytest.fixture
def outputs():
    rec = Recorder()
    yield rec
    for text in rec.outputs:
        assert SENTINEL not in text, "the sentinel password was printed"


@pytest.fixture
def cfg(tmp_path) -> Path:
    """The config path the CLI uses by default ($MAILCONSOLE_CONFIG, set by
    tests/conftest.py)."""
    return Path(os.environ["MAILCONSOLE_CONFIG"])


@pytest.fixture
def run(capsys, monkeypatch, outputs):
    """``run("set", "mail.relay=external", stdin="...")`` -> Result, in-process."""

    def _run(*argv: str, stdin: str | bytes | None = None) -> Result:
        capsys.readouterr()
        raw = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
        code = main(list(argv))
        cap = capsys.readouterr()
        outputs.add(cap.out, cap.err)
        return Result(code, cap.out, cap.err)

    return _run


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@pytest.fixture
def run_proc(outputs):
    """The CLI as a separate process (``python -m mailconsole``)."""

    def _run(*argv: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None,
             timeout: float = 60) -> Result:
        raw = stdin.encode() if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [sys.executable, "-m", "mailconsole", *argv], input=raw, capture_output=True,
            cwd=ROOT, env=cli_env(**(env or {})), timeout=timeout,
        )
        out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        outputs.add(out, err)
        return Result(proc.returncode, out, err)

    return _run
