"""The argparse side of ``mailconsole``: the parser of every command, its
help texts (through our catalog, argparse's own texts too) and the one-line
usage errors."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from config import i18n
from config.i18n import _
from config.service import DEFAULT_PATH
from mailconsole import __version__
from mailconsole.cli import EXIT_USAGE, PROG, err


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
        "  64, 65, 67, 75  send/sendmail (sysexits): usage, message, recipient; 75 not\n"
        "      queued, keep the mail (a queued mail is 0)\n"
        "  70  internal error (a bug); MAILCONSOLE_DEBUG=1 shows the traceback"
    )


def _epilog(examples: str) -> str:
    return _("examples:\n{examples}\n\n{codes}").format(
        examples=examples, codes=exit_codes_help()
    )


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (plus a pointer to --help), exit 2."""

    def error(self, message: str) -> NoReturn:
        err(_("{message} — see '{prog} --help'").format(message=message, prog=self.prog))
        raise SystemExit(EXIT_USAGE)


def _add_common(p: argparse.ArgumentParser, *, top: bool) -> None:
    """--config and --lang on the top level and on every subcommand."""
    default = None if top else argparse.SUPPRESS
    p.add_argument(
        "--config", metavar="PATH", default=default,
        help=_("config file (default: $MAILCONSOLE_CONFIG, else {path})").format(
            path=DEFAULT_PATH),
    )
    p.add_argument(
        "--lang", metavar="LANG", default=default,
        help=_("language of messages: en or de (default: from LC_ALL/LANG)"),
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of the command line, every subcommand included."""
    fmt = argparse.RawDescriptionHelpFormatter
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

    def add(name: str, help_: str, examples: str) -> argparse.ArgumentParser:
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
    p.add_argument("--client-secret-stdin", action="store_true",
                   help=_("read mail.smtp.oauth2.client_secret from the first line of "
                          "standard input"))

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
    p.add_argument("--queue-only", action="store_true",
                   help=_("only queue the mail; the next 'queue run' sends it"))

    p = add("sendmail", _("sendmail-compatible entry for the appliance's services: queue the "
                          "message on standard input, then send it (exit 0 = accepted, 75 = "
                          "not queued, keep it; 64/65/67 per sysexits)"),
            _("  echo 'Subject: hi' | mailconsole sendmail -i ops@example.com\n"
              "  mailconsole sendmail -t -f pbx@example.com < message.eml\n"
              "  (Asterisk: mailcmd=/usr/local/bin/mailconsole sendmail -t)"))
    p.add_argument("-t", dest="from_headers", action="store_true",
                   help=_("also take recipients from the To, Cc and Bcc headers (Bcc is "
                          "removed)"))
    p.add_argument("-i", dest="ignore_dots", action="store_true",
                   help=_("a line with a single dot does not end the message"))
    p.add_argument("-o", dest="options", action="append", metavar="OPT",
                   help=_("-oi is -i; other sendmail -o options are accepted and ignored"))
    p.add_argument("-B", dest="body_type", metavar="TYPE",
                   help=_("accepted and ignored (sendmail's body type)"))
    p.add_argument("-f", dest="sender", metavar="ADDR",
                   help=_("envelope sender (default: mail.sender)"))
    p.add_argument("-F", dest="full_name", metavar="NAME",
                   help=_("sender's full name, for a From header the message lacks"))
    p.add_argument("recipients", nargs="*", metavar="ADDR", help=_("recipient"))

    p = add("queue", _("the outgoing queue: run, list, show, flush, retry, drop"),
            _("  mailconsole queue list --json\n"
              "  mailconsole queue flush\n"
              "  mailconsole queue retry 20261202-101500123456-0a1b2c3d4e"))
    qsub = p.add_subparsers(title=_("actions"), metavar=_("ACTION"),
                            dest="queue_command", parser_class=_Parser, required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        a = qsub.add_parser(name, help=help_, description=help_, formatter_class=fmt)
        _add_common(a, top=False)
        return a

    action("run", _("one pass: send the mails that are due (for the systemd timer)"))
    a = action("list", _("the waiting and failed mails"))
    a.add_argument("--json", action="store_true", help=_("print JSON"))
    a = action("show", _("one mail: state, last error, headers"))
    a.add_argument("id", metavar="ID", help=_("queue id"))
    a = action("flush", _("send the waiting mails now (all, or the given ones)"))
    a.add_argument("ids", nargs="*", metavar="ID", help=_("queue id"))
    a = action("retry", _("put failed mails back to waiting, due now"))
    a.add_argument("ids", nargs="+", metavar="ID", help=_("queue id"))
    a = action("drop", _("remove mails from the queue for good"))
    a.add_argument("ids", nargs="+", metavar="ID", help=_("queue id"))

    p = add("log", _("the delivery history: one line per attempt"),
            _("  mailconsole log -n 50\n  mailconsole log --json | jq -c 'select(.result != "
              "\"sent\")'"))
    p.add_argument("--json", action="store_true", help=_("one JSON object per line"))
    p.add_argument("-n", dest="n", type=int, default=20, metavar="N",
                   help=_("the last N attempts (default 20)"))

    p = add("preset", _("fill the server, security and login method of a provider and "
                        "print its checklist"),
            _("  mailconsole preset --list\n"
              "  mailconsole preset microsoft365 mail.smtp.oauth2.tenant=contoso.com \\\n"
              "      mail.smtp.oauth2.client_id=ID mail.smtp.username=pbx@contoso.com \\\n"
              "      mail.sender=pbx@contoso.com --client-secret-stdin < secret.txt\n"
              "  mailconsole preset gmail --check"))
    p.add_argument("name", metavar="NAME", nargs="?", help=_("the preset (see --list)"))
    p.add_argument("assignments", nargs="*", metavar="KEY=VALUE",
                   help=_("more settings to save with the preset's"))
    p.add_argument("--list", action="store_true", help=_("list the presets"))
    p.add_argument("--check", action="store_true",
                   help=_("change nothing; print the checklist and what is still missing"))
    p.add_argument("--password-stdin", action="store_true",
                   help=_("read mail.smtp.password from the first line of standard input"))
    p.add_argument("--client-secret-stdin", action="store_true",
                   help=_("read mail.smtp.oauth2.client_secret from the first line of "
                          "standard input"))

    p = add("oauth", _("OAuth2 sign-in for SMTP: device login, token status, logout"),
            _("  mailconsole oauth login      # shows a URL and a code; sign in elsewhere\n"
              "  mailconsole oauth status --json\n"
              "  mailconsole oauth logout"))
    osub = p.add_subparsers(title=_("actions"), metavar=_("ACTION"), dest="oauth_command",
                            parser_class=_Parser, required=True)
    for oauth_action, text in (
            ("login", _("device code sign-in: open the URL on any device, enter the code")),
            ("status", _("method, account and expiry of the stored tokens (never a token)")),
            ("logout", _("forget the stored tokens of this configuration"))):
        q = osub.add_parser(oauth_action, help=text, description=text, formatter_class=fmt)
        _add_common(q, top=False)
        if oauth_action == "status":
            q.add_argument("--json", action="store_true", help=_("print JSON"))
        if oauth_action == "login":
            q.add_argument("--timeout", metavar="S", type=_login_seconds, default=900,
                           help=_("give up after S seconds (default: 900, or the code's "
                                  "own expiry)"))

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


def _login_seconds(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("--timeout must be a whole number of seconds, not {value!r}").format(value=text)
        ) from None
    if not 10 <= value <= 3600:
        raise argparse.ArgumentTypeError(
            _("--timeout must be between 10 and 3600 seconds, not {value}").format(value=value))
    return value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)
