"""The ``mailconsole`` command: argument parsing, error handling, exit codes.

Bare ``mailconsole`` starts the TUI; the subcommands (``show``, ``get``,
``set``, ``unset``, ``validate``, ``apply``, ``test-mail``, ``send``,
``demo``) call the same :class:`config.service.SettingsService` and
``mailer`` functions as the TUI, so both validate and save identically.

Start-up speed matters (``get``/``show``/``validate`` run in provisioning
loops), so everything is imported lazily inside the command that needs it:
the read-only commands never import textual, asyncio or ssl.  Their plain
forms, and those of ``test-mail`` (:func:`_fast_args`), do not even build the
argparse parser (``mailconsole.parser``, which imports argparse, re and
gettext); any other command line goes through argparse.

Every user error ends in ONE line on stderr that names the file, key or step,
says what is wrong and what to do, and one of the exit codes below; never a
traceback.  Unexpected exceptions give one line and exit 70 (the traceback
only with ``MAILCONSOLE_DEBUG=1``).
"""

from __future__ import annotations

import gc
import os
import sys

from config.i18n import _, set_language

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any


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

DEFAULT_CONFIG = "/etc/mailconsole/mail.toml"
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


def err(message: str) -> None:
    """One line on stderr, prefixed with the program name; every control,
    C1 and bidi character shown as an escape (config.text.visible)."""
    from config.text import visible

    text = visible(message)
    LAST_ERROR[:] = [text]
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def out(text: str, *, lines: bool = False) -> None:
    """Data-bearing text on stdout, made visible (config.text): one line, or
    with ``lines=True`` several (LF and TAB kept)."""
    from config.text import visible

    print(visible(text, newline=lines, tab=lines))


# --- the argparse side (mailconsole.parser), imported on first use ----------

_PARSER_NAMES = frozenset((
    "COMMANDS", "build_parser", "parse_args", "exit_codes_help", "_argparse_gettext",
    "_epilog", "_Retry", "_Unbuilt", "_terminal_columns", "_Formatter", "_Parser",
    "_add_common", "_seconds", "_command_from_argv",
))


def __getattr__(name: str) -> Any:
    """``mailconsole.cli.build_parser`` etc. as before the split (PEP 562)."""
    if name in _PARSER_NAMES:
        from mailconsole import parser

        return getattr(parser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- the fast path: plain get/show/validate without argparse ----------------


if TYPE_CHECKING:
    _Args = argparse.Namespace  # the commands see the same attributes
else:
    class _Args:
        """What ``argparse.Namespace`` holds for the plain forms (attributes only)."""

        def __init__(self, **values: Any) -> None:
            self.__dict__.update(values)


_FAST_COMMANDS = {"get": 1, "show": 0, "validate": 0, "test-mail": 0}  # -> positionals (KEY)
_JSON_COMMANDS = ("show", "validate", "test-mail")
_VALUE_OPTIONS = {"test-mail": ("--to", "--timeout")}  # options taking a value, per command


def _fast_args(argv: Sequence[str]) -> _Args | None:
    """The namespace argparse gives for exactly these command lines, else None:

        [--config PATH] get KEY
        [--config PATH] show [--json]
        [--config PATH] validate [--json]
        [--config PATH] test-mail [--to ADDR] [--json] [--timeout S]
        [--config PATH] [--basic | --rich]         (the screen)

    ``--config PATH`` / ``--config=PATH`` before or after the command (and
    the command's options anywhere after it, ``--to ADDR`` or ``--to=ADDR``),
    as argparse accepts them; the last ``--config`` wins, as with argparse.
    Anything else -- --lang, --help, abbreviations, ``--``, a value or KEY
    starting with ``-`` or empty, ``--to`` or ``--timeout`` twice, a timeout
    that is not 1 to 600 written in digits, a missing or extra argument --
    returns None and argparse parses it (and reports the error).
    tests/cli/test_fast_path.py checks that both paths give the same
    namespace, output, errors and exit codes."""
    command: str | None = None
    config: str | None = None
    mode: str | None = None
    json = False
    values: dict[str, str] = {}
    positionals: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if name == "--config" or name in _VALUE_OPTIONS.get(command or "", ()):
            if eq:
                value = inline
            elif i + 1 == len(argv):
                return None
            else:
                i += 1
                value = argv[i]
            if not value or value.startswith("-"):
                return None
            if name == "--config":
                config = value
            elif name in values:
                return None  # given twice: argparse decides
            else:
                values[name] = value
        elif arg == "--json" and command in _JSON_COMMANDS:
            json = True
        elif arg in ("--basic", "--rich") and command is None:
            if mode not in (None, arg[2:]):
                return None  # both: argparse reports it
            mode = arg[2:]
        elif not arg or arg.startswith("-"):
            return None
        elif command is None:
            if arg not in _FAST_COMMANDS:
                return None
            command = arg
        else:
            positionals.append(arg)
        i += 1
    if command is None:  # the screen: a few ms less before the pre-started hand-over
        return _Args(config=config, lang=None, mode=mode, command=None)
    if mode is not None or len(positionals) != _FAST_COMMANDS[command]:
        return None
    if command == "get":
        return _Args(config=config, lang=None, mode=None, command=command, key=positionals[0])
    if command == "test-mail":
        timeout = values.get("--timeout")
        if timeout is not None and not (timeout.isascii() and timeout.isdigit()
                                        and 1 <= int(timeout) <= 600):
            return None  # argparse gives the error
        return _Args(config=config, lang=None, mode=None, command=command,
                     to=values.get("--to"), json=json,
                     timeout=None if timeout is None else int(timeout))
    return _Args(config=config, lang=None, mode=None, command=command, json=json)


def _language_from_argv(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def config_path(args: argparse.Namespace) -> str:
    return args.config or os.environ.get("MAILCONSOLE_CONFIG") or DEFAULT_CONFIG


# --- main -----------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, fast_path: bool = True,
         process: bool = False) -> int:
    """Run one command line; ``fast_path=False`` parses even the plain
    get/show/validate forms with argparse (the tests compare both).

    ``process=True`` (the ``mailconsole`` script and ``python -m mailconsole``,
    never a caller that goes on running): the process ends after this call, so
    a one-shot command runs without the cyclic garbage collector (it makes few
    cycles and lives a fraction of a second; the collector would walk the
    freshly imported modules again and again), and whatever is alive at the end
    is frozen so that the interpreter's final collection skips it.  Together
    ~8 ms of ``test-mail`` (issue 3's benchmark, docs/mailer.md).  The TUI and
    the demo keep the collector on."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["console-server"]:
        # The pre-started console's server (deploy/systemd/mailconsole-console.service,
        # tui/prestart.py): a service's command, not an admin's, so not in --help.
        from tui.prestart import main as console_server

        return console_server(argv[1:])
    _SECRETS.clear()
    set_language(_language_from_argv(argv))
    args = _fast_args(argv) if fast_path else None
    if args is None:
        from mailconsole.parser import parse_args

        try:
            args = parse_args(argv)
        except SystemExit as exit_:  # --help, --version, usage errors
            return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if getattr(args, "json", False):
        # JSON is an interface (issue 7): every message inside it is English,
        # whatever --lang or LANG say (and so are this command's stderr lines).
        set_language("en")
    if process and args.command not in (None, "demo"):
        gc.disable()
    try:
        return _dispatch(args)
    except BaseException as exc:  # noqa: B036 — everything ends in one line
        code = handle_exception(exc, args)
        if getattr(args, "json", False) and code not in (EXIT_OK, EXIT_INTERRUPTED):
            _print_json_error(exc, code)
        return code
    finally:
        if process:
            gc.freeze()


def _print_json_error(exc: BaseException, code: int) -> None:
    """With --json, a failure is JSON on stdout too (scripts parse stdout)."""
    from config.errors import ConfigSyntaxError

    data: dict[str, Any] = {
        "ok": False, "changed": False, "exit_code": code,
        "error": LAST_ERROR[0] if LAST_ERROR else type(exc).__name__,
    }
    if isinstance(exc, ConfigSyntaxError):
        data.update(file=exc.path, line=exc.line, col=exc.col)
    problems = getattr(exc, "problems", None)
    if isinstance(problems, list):
        from mailconsole.commands import problem_dict

        data["problems"] = [problem_dict(p) for p in problems]
    try:
        print(_dump(data), flush=True)
    except OSError:
        pass


def _dispatch(args: argparse.Namespace) -> int:
    path = config_path(args)
    if args.command is None:
        from tui.app import run

        return int(run(path, mode=args.mode, lang=args.lang) or 0)
    if args.command == "demo":
        from tui.demo import run_demo

        return int(run_demo(mode=args.mode, lang=args.lang) or 0)
    from mailconsole import commands

    handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    return int(handler(args, path))


def _writes(args: argparse.Namespace) -> bool:
    return args.command in ("set", "unset") or (
        args.command == "apply" and not getattr(args, "check", False)
    )


def handle_exception(exc: BaseException, args: argparse.Namespace | None = None) -> int:
    """Map any exception to one line on stderr and an exit code."""
    from config import errors as cerr

    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    if isinstance(exc, KeyboardInterrupt):
        err(_("interrupted"))
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        # `mailconsole show | head`: the reader went away; not an error worth a line
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — silence the final flush
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
    import errno

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
    from config.text import visible_lines

    withheld = holds_secret(str(exc))
    if os.environ.get("MAILCONSOLE_DEBUG") == "1":
        import traceback

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
    import json

    from config.text import json_text

    return json_text(json.dumps(data, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    raise SystemExit(main())
