"""Every message used in the code has a German translation, and nothing else.

The messages are extracted at test time exactly as scripts/i18n does (Babel,
keywords _, N_, ngettext over config/ mailer/ tui/ mailconsole/) and compared
with the msgids of config/locale/de/LC_MESSAGES/mailconsole.po.  When one of
these fails: run scripts/i18n, translate what it lists, run it again.
"""

from __future__ import annotations

import ast
import shutil
import subprocess

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from config.i18n import _, ngettext
from tests.i18n.conftest import PO, ROOT


@pytest.fixture(scope="module")
def template(i18n_script) -> Catalog:
    return i18n_script.extract()


@pytest.fixture(scope="module")
def german_po() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f)


def test_the_code_has_messages_to_translate(template):
    ids = [m.id for m in template if m.id]
    assert len(ids) > 400  # the extraction really ran over all four packages
    files = {loc[0].split("/")[0] for m in template for loc in m.locations}
    assert files == {"config", "mailer", "tui", "mailconsole"}


def test_every_message_in_the_code_has_a_german_translation_none_missing_or_fuzzy(
        i18n_script, template, german_po):
    found = i18n_script.problems(template, german_po)
    for kind in ("missing", "untranslated", "fuzzy"):
        assert not found.get(kind), f"{kind} (run scripts/i18n): {found[kind]}"


def test_the_catalog_has_no_stale_or_obsolete_messages(i18n_script, template, german_po):
    found = i18n_script.problems(template, german_po)
    assert not found.get("stale"), f"not in the code any more: {found['stale']}"
    assert not found.get("obsolete"), f"obsolete #~ entries: {found['obsolete']}"


def test_placeholders_are_identical_in_msgid_and_msgstr(i18n_script, template, german_po):
    found = i18n_script.problems(template, german_po)
    assert not found.get("placeholders"), "\n".join(found["placeholders"])
    # and the German text formats with the same values as the English one
    for m in german_po:
        if m.id and m.string and "python-brace-format" in m.flags:
            names = {p[1:-1].split("!")[0].split(":")[0]
                     for p in i18n_script.placeholders(m.id)}
            values = {n: _AnyValue() for n in names}
            assert m.id.format(**values) and m.string.format(**values)


class _AnyValue:
    """Formats under any spec ({n}, {byte:02x}, {mode:04o}, {v!r})."""

    def __format__(self, spec: str) -> str:
        return "v"

    def __repr__(self) -> str:
        return "v"


def test_the_check_reports_each_kind_of_gap():
    """The comparison above can fail: each kind of gap in a .po is reported."""
    from tests.i18n.conftest import load_i18n_script

    script = load_i18n_script()
    code = Catalog()
    for msgid in ("kept {n}", "new", "changed", "wrong {name}"):
        code.add(msgid)
    po = Catalog()
    po.add("kept {n}", "behalten {n}")
    po.add("changed", "geändert", flags=["fuzzy"])
    po.add("wrong {name}", "falsch {nmae}")
    po.add("gone", "weg")
    po.obsolete["older"] = po["gone"]
    found = script.problems(code, po)
    assert found["missing"] == ["'new'"]
    assert found["fuzzy"] == ["'changed'"]
    assert found["stale"] == ["'gone'"]
    assert found["obsolete"] == ["'older'"]
    assert "wrong {name}" in found["placeholders"][0]
    assert "kept {n}" not in str(found)


def test_the_compiled_catalog_gives_every_german_text(german, german_po):
    """The .mo that is loaded at run time carries every msgstr of the .po."""
    wrong = [m.id for m in german_po
             if m.id and not isinstance(m.id, tuple) and _(m.id) != m.string]
    plurals = [m for m in german_po if isinstance(m.id, tuple)]
    wrong += [m.id for m in plurals
              if (ngettext(m.id[0], m.id[1], 1), ngettext(m.id[0], m.id[1], 2)) != m.string]
    assert plurals and not wrong


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt not installed")
def test_gnu_msgfmt_accepts_the_catalog_with_its_format_checks(tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "de.mo"), str(PO)],
        capture_output=True, text=True, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr


def _translation_calls():
    for top in ("config", "mailer", "tui", "mailconsole"):
        for path in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in {"_", "N_", "ngettext"}):
                    yield path.relative_to(ROOT), node


def test_no_message_is_built_before_translation():
    """Inside _() / N_() only a literal (or a variable holding an N_-marked
    literal): never an f-string, a concatenation, % or .format() -- those
    msgids would never match the catalog."""
    bad = []
    for path, call in _translation_calls():
        for arg in call.args:
            built = isinstance(arg, (ast.JoinedStr, ast.BinOp)) or (
                isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                and arg.func.attr == "format")
            if built:
                bad.append(f"{path}:{call.lineno}")
    assert not bad
