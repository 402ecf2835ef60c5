"""argparse's own messages, marked for extraction into our catalog.

``mailconsole.cli`` points argparse's module-level ``_`` and ``ngettext`` at
:mod:`config.i18n`, so argparse's "usage: ", "options", "invalid choice" and
its other user-facing texts are looked up in ``mailconsole.po``.  argparse is
not in the extraction's source tree, so its msgids are listed here with
``N_()``; they must be spelled exactly as in Python 3.11's ``argparse.py``
(``%``-style placeholders included).  Texts only a programming mistake can
show (conflicting option strings, ...) are left out: they stay English.

This module is never imported at run time; it exists for scripts/i18n.
"""

from __future__ import annotations

from config.i18n import N_, ngettext

MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
)


def _plurals() -> None:  # pragma: no cover - extraction only
    ngettext("expected %s argument", "expected %s arguments", 2)
