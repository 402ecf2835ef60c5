"""The argparse side of ``mailconsole``: the parser of every command, its
help texts (through our catalog, argparse's own texts too) and the one-line
usage errors.

Imported only when the command line needs argparse: ``mailconsole.cli``
runs the plain forms of ``get``, ``show`` and ``validate`` without it
(start-up time, issue 5; see ``cli._fast_args``).  The names here are also
reachable as ``mailconsole.cli.<name>``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from config import i18n
from config.i18n import _
from mailconsole.cli import DEFAULT_CONFIG, EXIT_USAGE, PROG, err


def _argparse_gettext(message: str) -> str:
    """argparse's own texts ("usage: ", "options", "invalid choice: ...")
    through our catalog; its msgids are listed in mailconsole/argparse_messages.py.
    argparse also passes None (a subparsers group without a description)."""
    return i18n._(message) if isinstance(message, str) and message else message


# argparse looks ``_`` and ``ngettext`` up as module globals at call time.
argparse._ = _argparse_gettext  # type: ignore[attr-defined]
argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]

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
        "  6   another process held the config file's lock for 10 s; nothing written\n"
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
