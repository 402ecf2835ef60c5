"""A small TOML reader for the read path (``get``/``show``/``validate`` start-up).

``tomllib`` costs ~10 ms to import (``typing``, ``re``, ``datetime``,
``string`` and its compiled regexes), more than ``python -c pass`` itself on
the appliance.  This module reads the subset of TOML the store writes and
admins typically write, with nothing but ``str`` methods:

* blank lines, comments, LF or CRLF line ends;
* ``[table]`` headers (dotted, bare or quoted key parts), no ``[[arrays]]``;
* ``key = value`` with bare, quoted or dotted keys;
* values: basic strings ``"..."`` with all one-line escapes (``\\uXXXX``,
  ``\\UXXXXXXXX``), literal strings ``'...'``, decimal integers (sign,
  underscores), ``true`` and ``false``.

Anything else -- floats, dates, arrays, inline tables, multi-line strings,
hex/octal/binary integers, a stray ``\\r``, a control character -- and
anything *invalid* (an unterminated string, a bad escape, a duplicate key or
table, a dotted key reopening a table...) raises :class:`Unsupported`, and
the caller parses the text with ``tomllib`` instead, which returns the value
or raises the real error (with line and column).  So this reader never
returns a value that differs from ``tomllib.loads`` and never accepts a
document ``tomllib`` rejects; where the two would need delicate TOML rules
(tables declared through dotted keys and headers mixed), it is conservative
and says Unsupported.  tests/config/test_tomlread.py checks both with
generated documents against ``tomllib``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any


class Unsupported(Exception):
    """The text is outside the subset (or invalid): parse it with tomllib."""


_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
# tomllib rejects these everywhere outside multi-line strings (which are not
# in the subset): in comments, strings, keys and between tokens.  Tab is allowed.
_CONTROL = frozenset([chr(i) for i in range(32) if i != 9] + ["\x7f"])
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_MAX_DIGITS = 100  # longer integers: tomllib decides (int() has a digit limit)

Key = tuple[str, ...]


def loads(text: str) -> dict[str, Any]:
    """The data ``tomllib.loads(text)`` returns, or :class:`Unsupported`."""
    if not isinstance(text, str):
        raise Unsupported
    root: dict[str, Any] = {}
    table = root
    header: Key = ()
    explicit: set[Key] = set()  # declared by a [header]
    implicit: set[Key] = set()  # created as the parent of a [header]
    dotted_done: set[Key] = set()  # created or used by dotted keys in an earlier section
    dotted: set[Key] = set()  # ... in this section
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.isprintable() and any(c in _CONTROL for c in line):
            raise Unsupported
        s = line.lstrip(" \t")
        if not s or s[0] == "#":
            continue
        if s[0] == "[":
            if s.startswith("[["):
                raise Unsupported  # arrays of tables
            key, i = _key(s, _skip_ws(s, 1))
            if s[i:i + 1] != "]":
                raise Unsupported
            _end_of_line(s, i + 1)
            # tomllib: a table is declared once, and never after dotted keys
            # made it (or a parent) a namespace; a value cannot become a table.
            if key in explicit:
                raise Unsupported
            dotted_done |= dotted
            dotted = set()
            node = root
            for n in range(1, len(key) + 1):
                prefix = key[:n]
                if prefix in dotted_done:
                    raise Unsupported
                part = key[n - 1]
                if part not in node:
                    node[part] = {}
                    if n < len(key):
                        implicit.add(prefix)
                node = node[part]
                if not isinstance(node, dict):
                    raise Unsupported
            explicit.add(key)
            header, table = key, node
        elif s[0] in _BARE or s[0] == '"' or s[0] == "'":
            key, i = _key(s, 0)
            if s[i:i + 1] != "=":
                raise Unsupported
            value, i = _value(s, _skip_ws(s, i + 1))
            _end_of_line(s, i)
            node = table
            for n in range(1, len(key)):
                path = header + key[:n]
                if path in explicit or path in implicit or path in dotted_done:
                    raise Unsupported
                part = key[n - 1]
                if part in node:
                    node = node[part]
                    if not isinstance(node, dict) or path not in dotted:
                        raise Unsupported
                else:
                    node[part] = node = {}
                dotted.add(path)
            if key[-1] in node:
                raise Unsupported  # a duplicate key
            node[key[-1]] = value
        else:
            raise Unsupported
    return root


def _skip_ws(s: str, i: int) -> int:
    n = len(s)
    while i < n and (s[i] == " " or s[i] == "\t"):
        i += 1
    return i


def _end_of_line(s: str, i: int) -> None:
    """Only blanks and a comment may follow a statement."""
    i = _skip_ws(s, i)
    if i < len(s) and s[i] != "#":
        raise Unsupported


def _key(s: str, i: int) -> tuple[Key, int]:
    """A (dotted) key at ``i``; returns it and the index after the blanks behind it."""
    parts: list[str] = []
    while True:
        c = s[i:i + 1]
        if c and c in _BARE:
            j = i + 1
            while j < len(s) and s[j] in _BARE:
                j += 1
            parts.append(s[i:j])
            i = j
        elif c == '"':
            part, i = _basic(s, i + 1)
            parts.append(part)
        elif c == "'":
            part, i = _literal(s, i + 1)
            parts.append(part)
        else:
            raise Unsupported
        i = _skip_ws(s, i)
        if s[i:i + 1] != ".":
            return tuple(parts), i
        i = _skip_ws(s, i + 1)


def _basic(s: str, i: int) -> tuple[str, int]:
    """A one-line basic string whose opening quote is before ``i``."""
    out: list[str] = []
    quote = s.find('"', i)
    while True:
        if quote < 0:
            raise Unsupported  # unterminated
        backslash = s.find("\\", i, quote)
        if backslash < 0:
            out.append(s[i:quote])
            return "".join(out), quote + 1
        out.append(s[i:backslash])
        e = s[backslash + 1:backslash + 2]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i = backslash + 2
        elif e == "u" or e == "U":
            size = 4 if e == "u" else 8
            digits = s[backslash + 2:backslash + 2 + size]
            if len(digits) != size or not all(c in _HEX for c in digits):
                raise Unsupported
            code = int(digits, 16)
            if not (code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF):
                raise Unsupported  # not a Unicode scalar value
            out.append(chr(code))
            i = backslash + 2 + size
        else:
            raise Unsupported  # an unknown escape (or a backslash at the end)
        if i > quote:  # that quote was escaped (\"): look for the next one
            quote = s.find('"', i)


def _literal(s: str, i: int) -> tuple[str, int]:
    """A one-line literal string whose opening apostrophe is before ``i``."""
    end = s.find("'", i)
    if end < 0:
        raise Unsupported
    return s[i:end], end + 1


def _value(s: str, i: int) -> tuple[str | int | bool, int]:
    c = s[i:i + 1]
    if c == '"':
        if s.startswith('"""', i):
            raise Unsupported
        return _basic(s, i + 1)
    if c == "'":
        if s.startswith("'''", i):
            raise Unsupported
        return _literal(s, i + 1)
    if s.startswith("true", i):
        return True, i + 4
    if s.startswith("false", i):
        return False, i + 5
    # a decimal integer: [+-]?(0|[1-9](_?[0-9])*); whatever follows it must
    # end the line (a float, a date, 0x...: _end_of_line says Unsupported)
    j = i + 1 if c == "+" or c == "-" else i
    if j >= len(s) or s[j] not in _DIGITS:
        raise Unsupported
    k = j + 1
    if s[j] != "0":
        while k < len(s):
            if s[k] in _DIGITS:
                k += 1
            elif s[k] == "_" and k + 1 < len(s) and s[k + 1] in _DIGITS:
                k += 2
            else:
                break
    if k - j > _MAX_DIGITS:
        raise Unsupported
    return int(s[i:k].replace("_", "")), k
