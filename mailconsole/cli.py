"""The ``mailconsole`` command: argument parsing, error handling, exit codes.

Bare ``mailconsole`` starts the TUI; the subcommands (``show``, ``get``,
``set``, ``unset``, ``validate``, ``apply``, ``test-mail``, ``send``,
``demo``) call the same :class:`config.service.SettingsService` and
``mailer`` functions as the TUI, so both validate and save identically.

Start-up speed matters (``get``/``show``/``validate`` run in provisioning
loops), so everything beyond argparse is imported lazily inside the command
that needs it: the read-only commands never import textual, asyncio or ssl.

Every user error ends in ONE line on stderr that names the file, key or step,
says what is wrong and what to do, and one of the exit codes below; never a
traceback.  Unexpected exceptions give one line and exit 70 (the traceback
only with ``MAILCONSOLE_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from config import i18n
from config.i18n import _, set_language


def _argparse_gettext(message: str) -> str:
    """argparse's own texts ("usage: ", "options", "invalid choice: ...")
    through our catalog; its msgids are listed in mailconsole/argparse_messages.py.
    argparse also passes None (a subparsers group without a description)."""
    return i18n._(message) if isinstance(message, str) and message else message


# argparse looks ``_`` and ``ngettext`` up as module globals at call time.
argparse._ = _argparse_gettext  # type: ignore[attr-defined]
argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]

# --- exit codes (documented in --help, docs/cli.md and the README) -----------
EXIT_OK = 0
EXIT_FAILED = 1      # invalid configuration, or the mail was not delivered
EXIT_USAGE = 2       # bad command line (unknown key, missing argument...)
EXIT_SYNTAX = 3      # the config file is malformed (ConfigSyntaxError.exit_code)
EXIT_CONFLICT = 4    # the file changed on disk meanwhile: try again
EXIT_WRITE = 5       # the file could not be written; the original is intact
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
_SECRETS: set[str] = set()


def remember_secret(value: str) -> None:
    """Register a secret so that no error line can ever print it."""
    if value:
        _SECRETS.add(value)


def redact(text: str) -> str:
    from config.model import REDACTED

    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


LAST_ERROR: list[str] = []


def err(message: str) -> None:
    """One line on stderr, prefixed with the program name, secrets removed."""
    text = redact(message)
    LAST_ERROR[:] = [text]
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


# --- help texts -----------------------------------------------------------


def exit_codes_help() -> str:
    return _(
        "exit codes:\n"
        "  0   success\n"
        "  1   invalid configuration, or the mail was not delivered\n"
        "  2   usage error (unknown command, key or option; missing argument)\n"
        "  3   the config file is malformed (not TOML, not UTF-8, duplicate key)\n"
        "  4   the config file changed on disk meanwhile; nothing written, try again\n"
        "  5   the config file could not be written; the original is intact\n"
        "  70  internal error (a bug); MAILCONSOLE_DEBUG=1 shows the traceback"
    )


def _epilog(examples: str) -> str:
    return _("examples:\n{examples}\n\n{codes}").format(
        examples=examples, codes=exit_codes_help()
    )


COMMANDS = ("show", "get", "set", "unset", "validate", "apply", "test-mail", "send", "demo")
_QUIET = False


class _Retry(Exception):
    """Parsing with only one subcommand built failed: build them all."""


class _Unbuilt:
    """Stands in for a subcommand parser that is not needed for this run
    (building all nine costs ~10 ms of start-up; see bench/cli_speed.py)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        return None

    def add_mutually_exclusive_group(self, *args: Any, **kwargs: Any) -> _Unbuilt:
        return self


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` without importing shutil (which
    pulls in bz2/lzma, ~4 ms): argparse builds a help formatter for every
    ``add_argument``, even when no help is printed."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
        columns = columns or 80
    return columns


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """RawDescriptionHelpFormatter with the same width, computed cheaply."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (plus a pointer to --help), exit 2."""

    def error(self, message: str) -> NoReturn:
        if _QUIET:
            raise _Retry
        err(_("{message} — see '{prog} --help'").format(message=message, prog=self.prog))
        raise SystemExit(EXIT_USAGE)


def _add_common(p: argparse.ArgumentParser, *, top: bool) -> None:
    """--config and --lang on the top level and on every subcommand."""
    default = None if top else argparse.SUPPRESS
    p.add_argument(
        "--config", metavar="PATH", default=default,
        help=_("config file (default: $MAILCONSOLE_CONFIG, else {path})").format(
            path=DEFAULT_CONFIG),
    )
    p.add_argument(
        "--lang", metavar="LANG", default=default,
        help=_("language of messages: en or de (default: from LC_ALL/LANG)"),
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, just that subcommand is built (the
    others are stubs), which is enough to parse a command line naming it."""
    from mailconsole import __version__

    fmt = _Formatter
    parser = _Parser(
        prog=PROG,
        formatter_class=fmt,
        description=_(
            "Set up the appliance's outgoing mail. Without a command, start the "
            "mail-server screen (TUI); with a command, work headless."
        ),
        epilog=_epilog(_(
            "  mailconsole                          # the mail-server screen\n"
            "  mailconsole show\n"
            "  mailconsole set mail.relay=external mail.smtp.server=smtp.example.com:587\n"
            "  printf '%s\\n' \"$PW\" | mailconsole set --password-stdin\n"
            "  mailconsole apply site.toml --check --json\n"
            "  mailconsole test-mail --to admin@example.com"
        )),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help=_("show program's version number and exit"))
    _add_common(parser, top=True)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--basic", dest="mode", action="store_const", const="basic",
        help=_("TUI: plain ASCII, no colours (serial consoles, dumb terminals)"),
    )
    mode.add_argument(
        "--rich", dest="mode", action="store_const", const="rich",
        help=_("TUI: colours and box drawing even where basic mode would be chosen"),
    )
    parser.set_defaults(command=None, mode=None)

    sub = parser.add_subparsers(
        title=_("commands"), metavar=_("COMMAND"), dest="command", parser_class=_Parser,
    )

    def add(name: str, help_: str, examples: str) -> Any:
        if only is not None and name != only:
            return _Unbuilt()
        p = sub.add_parser(
            name, help=help_, description=help_, formatter_class=fmt,
            epilog=_epilog(examples),
        )
        _add_common(p, top=False)
        return p

    p = add("show", _("print the effective settings (defaults filled in; the password "
                      "only as set/unset)"),
            _("  mailconsole show\n  mailconsole show --json | jq -r '.settings[\"mail.relay\"]'"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))

    p = add("get", _("print one setting's value"),
            _("  mailconsole get mail.smtp.server\n"
              "  [ \"$(mailconsole get mail.html)\" = true ] && echo html"))
    p.add_argument("key", metavar="KEY", help=_("key path, e.g. mail.smtp.server"))

    p = add("set", _("change settings: validated as a whole, then one atomic save that "
                     "keeps the file's comments"),
            _("  mailconsole set mail.relay=external mail.smtp.server=192.0.2.10:587\n"
              "  mailconsole set mail.smtp.username=pbx --password-stdin < pw.txt\n"
              "  (a password on the command line is refused: it would show in ps and "
              "the shell history)"))
    p.add_argument("assignments", nargs="*", metavar="KEY=VALUE",
                   help=_("values are parsed by the key's type: true/false, 25, text"))
    p.add_argument("--password-stdin", action="store_true",
                   help=_("read mail.smtp.password from the first line of standard input"))

    p = add("unset", _("put settings back to their defaults"),
            _("  mailconsole unset mail.smtp.server mail.smtp.username\n"
              "  mailconsole unset mail.smtp.password"))
    p.add_argument("keys", nargs="+", metavar="KEY", help=_("key path"))

    p = add("validate", _("check the config file: errors and warnings with key paths "
                          "(line:col for syntax errors)"),
            _("  mailconsole validate\n  mailconsole validate --json"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))

    p = add("apply", _("merge a partial TOML file (the keys it contains) into the config, "
                       "validated as a whole"),
            _("  mailconsole apply site.toml --check      # what would change\n"
              "  mailconsole apply site.toml --json       # {\"changed\": ..., \"diff\": ...}"))
    p.add_argument("file", metavar="FILE", help=_("TOML file with the keys to set ('-' reads "
                                                  "standard input)"))
    p.add_argument("--check", action="store_true",
                   help=_("change nothing; report what would change"))
    p.add_argument("--json", action="store_true",
                   help=_("print {\"changed\": ..., \"diff\": ...} (password redacted)"))

    p = add("test-mail", _("send a test mail with the saved settings and diagnose each step"),
            _("  mailconsole test-mail --to admin@example.com\n"
              "  mailconsole test-mail --json --timeout 5 | jq .failure"))
    p.add_argument("--to", metavar="ADDR",
                   help=_("recipient (default: mail.test_recipient)"))
    p.add_argument("--json", action="store_true",
                   help=_("print the report as JSON (transcript redacted)"))
    p.add_argument("--timeout", metavar="S", type=_seconds,
                   help=_("seconds for the whole conversation (default: mail.smtp.timeout)"))

    p = add("send", _("send an RFC 5322 message read from standard input through the "
                      "configured relay"),
            _("  mailconsole send --to ops@example.com < message.eml\n"
              "  mailconsole send -t < message.eml        # recipients from To/Cc/Bcc"))
    p.add_argument("--to", metavar="ADDR", action="append", default=[],
                   help=_("recipient (repeatable)"))
    p.add_argument("-t", dest="from_headers", action="store_true",
                   help=_("take recipients from the To, Cc and Bcc headers (Bcc is removed)"))

    p = add("demo", _("the mail-server screen on a throw-away demo setup"),
            _("  mailconsole demo\n  mailconsole --basic demo"))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--basic", dest="mode", action="store_const", const="basic",
                      default=argparse.SUPPRESS, help=_("plain ASCII, no colours"))
    mode.add_argument("--rich", dest="mode", action="store_const", const="rich",
                      default=argparse.SUPPRESS, help=_("colours and box drawing"))
    return parser


def _seconds(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("--timeout must be a whole number of seconds, not {value!r}").format(value=text)
        ) from None
    if not 1 <= value <= 600:
        raise argparse.ArgumentTypeError(
            _("--timeout must be between 1 and 600 seconds, not {value}").format(value=value)
        )
    return value


def _command_from_argv(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in COMMANDS and (i == 0 or argv[i - 1] not in ("--config", "--lang")):
            return arg
    return None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse with only the named subcommand built (fast); on any doubt parse
    again with the full parser, which also gives the error messages."""
    global _QUIET
    only = _command_from_argv(argv)
    if only is not None and not any(a in ("-h", "--help") for a in argv):
        _QUIET = True
        try:
            return build_parser(only).parse_args(argv)
        except (_Retry, SystemExit):
            pass
        finally:
            _QUIET = False
    return build_parser().parse_args(argv)


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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _SECRETS.clear()
    set_language(_language_from_argv(argv))
    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if getattr(args, "json", False):
        # JSON is an interface (issue 7): every message inside it is English,
        # whatever --lang or LANG say (and so are this command's stderr lines).
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
    if os.environ.get("MAILCONSOLE_DEBUG") == "1":
        import traceback

        text = "".join(traceback.format_exception(exc))
        sys.stderr.write(redact(text))
    message = str(exc).splitlines()[0] if str(exc) else ""
    err(_("internal error: {kind}: {message} — this is a bug; run again with "
          "MAILCONSOLE_DEBUG=1 to see the traceback and report it").format(
        kind=type(exc).__name__, message=message))
    return EXIT_INTERNAL


def _dump(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    raise SystemExit(main())
