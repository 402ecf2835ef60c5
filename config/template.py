"""The commented template written when the config file does not exist yet.

Every key of :data:`config.model.FIELDS` appears once, in schema order, under
its table, with a comment taken from the manual's meaning of the field
(``FIELDS[...].help``, translated at call time).
"""

from __future__ import annotations

import textwrap

from config.i18n import _
from config.model import FIELDS, Settings, Value

WIDTH = 78


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, WIDTH - 2)]


def format_value(value: Value) -> str:
    """``value`` as a TOML value (string, boolean or integer)."""
    import tomlkit

    return tomlkit.item(value).as_string()


def render_template(settings: Settings | None = None) -> str:
    """The full commented file for ``settings`` (defaults if None)."""
    values = (settings or Settings()).to_flat()
    lines = _comment(_("mailconsole: outgoing mail of this appliance "
                       "(Admin > Server > Mail-Server)."))
    lines += _comment(_("Every key may be left out; a missing key takes the default shown "
                        "in the comment. The key paths are stable: scripts may rely on "
                        "them. Unknown keys and tables are kept as they are."))
    table = None
    for path, f in FIELDS.items():
        *parts, leaf = path.split(".")
        tname = ".".join(parts)
        if tname != table:
            lines += ["", f"[{tname}]"]
            table = tname
        help_text = _(f.help)
        if f.manual_id:
            help_text += " (" + f.manual_id + ")"
        lines += _comment(help_text)
        if f.choices:
            lines += _comment(_("One of: {choices}.").format(
                choices=", ".join(f'"{c}"' for c in f.choices)))
        if f.minimum is not None and f.maximum is not None:
            lines += _comment(_("From {minimum} to {maximum}.").format(
                minimum=f.minimum, maximum=f.maximum))
        lines += _comment(_("Default: {default}").format(default=format_value(f.default)))
        lines.append(f"{leaf} = {format_value(values[path])}")
        lines.append("")
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"
