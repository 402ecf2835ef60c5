"""The ``mailconsole`` command: argument parsing, error handling, exit codes.

Bare ``mailconsole`` starts the TUI; the subcommands (``show``, ``get``,
``set``, ``unset``, ``validate``, ``apply``, ``test-mail``, ``send``,
``demo``) call the same :class:`config.service.SettingsService` and
``mailer`` functions as the TUI, so both validate and save identically.

The read-only commands (``get``, ``show``, ``validate``) import neither
textual nor ssl nor the email package: those are imported by the command that
needs them.

Every user error ends in ONE line on stderr that names the file, key or step,
says what is wrong and what to do, and one of the exit codes below; never a
traceback.  Unexpected exceptions give one line and exit 70 (the traceback
only with ``MAILCONSOLE_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from config import errors as cerr
from config.i18n import _, set_language
from config.service import default_config_path
from config.text import json_text, visible, visible_lines
from config.validate import Problem

# --- exit codes (documented in --help, docs/cli.md and the README) -----------
EXIT_OK = 0
EXIT_FAILED = 1      # invalid configuration, or the mail was not delivered
EXIT_USAGE = 2       # bad command line (unknown key, missing argument...)
EXIT_SYNTAX = 3      # the config file is malformed (ConfigSyntaxError.exit_code)
EXIT_CONFLICT = 4    # the file changed on disk meanwhile: try again
EXIT_WRITE = 5       # the file could not be written; the original is intact
EXIT_LOCKED = 6      # another process held the file's lock for 10 s (ConfigLockError)
EXIT_INTERNAL = 70   # a bug (EX_SOFTWARE); traceback with MAILCONSOLE_DEBUG=1
EXIT_INTERRUPTED = 130

PROG = "mailconsole"


class UsageError(Exception):
    """A command-line mistake found after parsing (exit 2)."""

    exit_code = EXIT_USAGE


class CommandFailed(Exception):
    """A user-level failure with a ready one-line message and exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- secrets never reach the terminal -----------------------------------------
# The messages are built so that they never hold a secret (config errors name
# the key, never the password's value; the mailer's report is redacted on its
# structured values).  No substring of a message is ever replaced: that would
# mangle the words that happen to contain the password and show where it is.
# The secrets are remembered only to withhold an *unexpected* exception's text
# (internal_error) whole when it holds one.
_SECRETS: set[str] = set()


def remember_secret(value: str) -> None:
    """Register a secret so that no internal-error line can ever print it."""
    if value:
        _SECRETS.add(value)


def holds_secret(text: str) -> bool:
    return any(secret in text for secret in _SECRETS)


LAST_ERROR: list[str] = []


def companion_hint(args: argparse.Namespace | None, problems: list[Problem]) -> str:
    """After a `set` refused for a value it needs besides the ones given (an
    external server needs a user name and password while authentication is on):
    how to give all of them in one call."""
    if args is None or getattr(args, "command", None) != "set":
        return ""
    given = [a for a in getattr(args, "assignments", None) or [] if "=" in a]
    given_keys = {a.partition("=")[0].strip() for a in given}
    if getattr(args, "password_stdin", False):
        given_keys.add("mail.smtp.password")
    missing = [p.key for p in problems
               if p.severity == "error" and p.key and p.key not in given_keys]
    missing = list(dict.fromkeys(missing))
    if not missing:
        return ""
    parts = ["mailconsole set", *given,
             *(f"{key}=VALUE" for key in missing if key != "mail.smtp.password")]
    if "mail.smtp.password" in missing or getattr(args, "password_stdin", False):
        parts.insert(0, "printf '%s\\n' \"$PW\" |")
        parts.append("--password-stdin")
    return _("{keys}: give them in the same call, e.g. {example} "
             "(or turn off what needs them, e.g. mail.smtp.authentication=no)").format(
        keys=", ".join(missing), example=" ".join(parts))


def err(message: str) -> None:
    """One line on stderr, prefixed with the program name; every control,
    C1 and bidi character shown as an escape (config.text.visible)."""
    text = visible(message)
    LAST_ERROR[:] = [text]
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def out(text: str, *, lines: bool = False) -> None:
    """Data-bearing text on stdout, made visible (config.text): one line, or
    with ``lines=True`` several (LF and TAB kept)."""
    print(visible(text, newline=lines, tab=lines))


def _language_from_argv(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option or
    the value of --config/--lang)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--config", "--lang"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def config_path(args: argparse.Namespace) -> str:
    """--config, else $MAILCONSOLE_CONFIG, else config.service.DEFAULT_PATH."""
    return args.config or str(default_config_path())


# --- main -----------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _SECRETS.clear()
    set_language(_language_from_argv(argv))
    from mailconsole.parser import parse_args  # it imports this module

    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors
        code = exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
        if code == EXIT_USAGE and _command_of(argv) == "sendmail":
            return 64  # EX_USAGE: sendmail's callers know sysexits
        return code
    if getattr(args, "json", False):
        # JSON is an interface: every message inside it is English, whatever
        # --lang or LANG say (and so are this command's stderr lines).
        set_language("en")
    try:
        return _dispatch(args)
    except BaseException as exc:  # noqa: B036 — everything ends in one line
        code = handle_exception(exc, args)
        if getattr(args, "json", False) and code not in (EXIT_OK, EXIT_INTERRUPTED):
            _print_json_error(exc, code)
        return code


def _print_json_error(exc: BaseException, code: int) -> None:
    """With --json, a failure is JSON on stdout too (scripts parse stdout)."""
    data: dict[str, Any] = {
        "ok": False, "changed": False, "exit_code": code,
        "error": LAST_ERROR[0] if LAST_ERROR else type(exc).__name__,
    }
    if isinstance(exc, cerr.ConfigSyntaxError):
        data.update(file=exc.path, line=exc.line, col=exc.col)
    problems = getattr(exc, "problems", None)
    if isinstance(problems, list):
        from mailconsole.commands import problem_dict  # it imports this module

        data["problems"] = [problem_dict(p) for p in problems]
    try:
        print(_dump(data), flush=True)
    except OSError:
        pass


def _dispatch(args: argparse.Namespace) -> int:
    path = config_path(args)
    if args.command is None:
        from tui.start import run

        return int(run(path, mode=args.mode, lang=args.lang) or 0)
    if args.command == "demo":
        from mailconsole.demo import run_demo

        return int(run_demo(mode=args.mode, lang=args.lang) or 0)
    from mailconsole import commands  # it imports this module

    handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    return int(handler(args, path))


def _writes(args: argparse.Namespace) -> bool:
    return args.command in ("set", "unset") or (
        args.command == "apply" and not getattr(args, "check", False)
    )


def handle_exception(exc: BaseException, args: argparse.Namespace | None = None) -> int:
    """Map any exception to one line on stderr and an exit code."""
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    if isinstance(exc, KeyboardInterrupt):
        err(_("interrupted"))
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        # `mailconsole show | head`: the reader went away; not an error worth a line
        try:
            sys.stdout = open(os.devnull, "w")  # silence the final flush
        except OSError:
            pass
        return EXIT_OK
    if isinstance(exc, UsageError):
        err(str(exc))
        return EXIT_USAGE
    if isinstance(exc, CommandFailed):
        err(str(exc))
        return exc.exit_code
    if isinstance(exc, cerr.ConfigSyntaxError):
        err(_("{where}: {message} — fix the file (it was not changed)").format(
            where=f"{exc.path}:{exc.line}:{exc.col}", message=exc.message))
        return EXIT_SYNTAX
    if isinstance(exc, cerr.ConfigTypeError):
        where = f"{exc.path}: " if exc.path else ""
        err(_("{where}{key}: {message} — correct it in the file; nothing was written")
            .format(where=where, key=exc.key, message=exc.message))
        return exc.exit_code
    if isinstance(exc, cerr.ConfigInvalidError):
        path = config_path(args) if args is not None else ""
        for problem in exc.problems:
            if problem.severity == "error":
                err(_("{path}: {problem} — nothing was written").format(
                    path=path, problem=problem))
        hint = companion_hint(args, exc.problems)
        if hint:
            err(hint)
        return EXIT_FAILED
    if isinstance(exc, cerr.ConfigConflictError):
        err(str(exc))
        return EXIT_CONFLICT
    if isinstance(exc, cerr.ConfigWriteError):
        err(_("{message} — the file was not changed; check permissions, free space and "
              "that the directory is writable").format(message=str(exc)))
        return EXIT_WRITE
    if isinstance(exc, cerr.ConfigError):
        err(str(exc))
        return getattr(exc, "exit_code", EXIT_FAILED)
    if isinstance(exc, OSError):
        err(describe_os_error(exc, args))
        return EXIT_WRITE if args is not None and _writes(args) else EXIT_FAILED
    return internal_error(exc)


def describe_os_error(exc: OSError, args: argparse.Namespace | None) -> str:
    where = exc.filename or (config_path(args) if args is not None else PROG)
    advice = {
        errno.ENOENT: _("check the path, or pass --config PATH"),
        errno.EACCES: _("run as a user allowed to access it (often root), or pass "
                        "--config PATH"),
        errno.EPERM: _("run as a user allowed to access it (often root), or pass "
                       "--config PATH"),
        errno.EROFS: _("the file system is read-only; remount it read-write or pass "
                       "--config PATH"),
        errno.EISDIR: _("pass the path of a file, not of a directory"),
        errno.ENOSPC: _("free some disk space and try again"),
    }.get(exc.errno or 0, _("check the path and its permissions"))
    return _("{path}: {problem} — {advice}").format(
        path=where, problem=exc.strerror or exc.__class__.__name__, advice=advice)


def internal_error(exc: BaseException) -> int:
    withheld = holds_secret(str(exc))
    if os.environ.get("MAILCONSOLE_DEBUG") == "1":
        if withheld:  # the frames, not the exception's text
            text = ("Traceback (most recent call last):\n"
                    + "".join(traceback.format_tb(exc.__traceback__))
                    + type(exc).__name__ + "\n")
        else:
            text = "".join(traceback.format_exception(exc))
        sys.stderr.write(visible_lines(text))
    message = str(exc).splitlines()[0] if str(exc) else ""
    if withheld:
        message = _("(text withheld: it contains a secret)")
    err(_("internal error: {kind}: {message} — this is a bug; run again with "
          "MAILCONSOLE_DEBUG=1 to see the traceback and report it").format(
        kind=type(exc).__name__, message=message))
    return EXIT_INTERNAL


def _dump(data: Any) -> str:
    return json_text(json.dumps(data, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    raise SystemExit(main())
