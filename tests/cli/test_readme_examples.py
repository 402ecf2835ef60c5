"""The README's command-line examples run as they are, in order, on a fresh
file; and the CLI speaks the screen's words (TLS, STARTTLS, unencrypted), says
where the port goes, and how to give a needed companion value in one call."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: mailconsole is there


def readme_examples() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- readme-cli-examples -->\n```sh\n(.*?)```\n"
                      r"<!-- /readme-cli-examples -->", text, re.S)
    assert block, "the README's marked example block is missing"
    return block.group(1)


def run(args: list[str], tmp_path: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    env.pop("MAILCONSOLE_CONFIG", None)
    return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_the_readme_examples_run_in_order_on_a_fresh_file(tmp_path):
    script = "set -eu -o pipefail\nPW='readme-example-secret'\n" + readme_examples()
    done = run(["bash", "-c", script], tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "readme-example-secret" not in done.stdout + done.stderr
    # the last command is `show --json`: back to the internal relay, the
    # applied sender kept
    lines = done.stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("{"))
    shown = json.loads("\n".join(lines[start:]))
    flat = json.dumps(shown)
    assert '"internal"' in flat and "pbx@customer.example" in flat, flat
    assert (tmp_path / "mail.toml").exists()


def test_the_readme_says_where_the_command_is_after_the_quick_start():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/mailconsole" in text


def _mc(tmp_path: Path, *args: str, stdin: str | None = None):
    return run([str(BIN / "mailconsole"), "--config", str(tmp_path / "m.toml"), *args],
               tmp_path, input=stdin)


def test_a_set_missing_its_companion_values_says_how_to_give_them_in_one_call(tmp_path):
    done = _mc(tmp_path, "set", "mail.relay=external", "mail.smtp.server=smtp.example.com:587")
    assert done.returncode == 1
    hint = done.stderr.strip().splitlines()[-1]
    assert "mail.smtp.username, mail.smtp.password: give them in the same call" in hint
    example = hint[hint.index("printf"):hint.index(" (or turn off")]
    assert "mail.smtp.username=VALUE" in example and "--password-stdin" in example
    # ... and the call it suggests works
    command = example.replace("VALUE", "pbx").replace("mailconsole", str(BIN / "mailconsole")
                                                      + f" --config {tmp_path / 'm.toml'}")
    again = run(["bash", "-c", f"PW=s3cret-value; {command}"], tmp_path)
    assert again.returncode == 0, again.stderr


def test_the_screens_words_are_accepted_for_the_security(tmp_path):
    for word, value in (("TLS", "tls"), ("STARTTLS", "starttls"), ("unencrypted", "none"),
                        ("Unencrypted", "none"), ("none", "none")):
        assert _mc(tmp_path, "set", f"mail.smtp.security={word}").returncode == 0
        assert _mc(tmp_path, "get", "mail.smtp.security").stdout.strip() == value
    refused = _mc(tmp_path, "set", "mail.smtp.security=ssl")
    assert refused.returncode == 1 and "tls" in refused.stderr


def test_a_port_setting_is_pointed_at_the_server_field(tmp_path):
    done = _mc(tmp_path, "set", "mail.smtp.port=465")
    assert done.returncode == 2
    assert "mail.smtp.server=HOST:465" in done.stderr
    assert "password" not in done.stderr
