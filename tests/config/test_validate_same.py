"""config.validate without ``re`` and (until an address literal needs it)
``ipaddress`` gives exactly what it gave with them.  Issue 5 replaced four
regular expressions and the idna codec call by plain character tests
(``_is_label``, ``_is_numeric_host``, ``_has_control``, ``_is_dot_atom``,
``_idna``) and changed nothing else; so the former module is the current one
with those five put back as they were (the expressions of commit 3e0ea19,
below).  Every public helper and ``validate`` itself are compared both ways on
generated host names, IP addresses, ports, mail addresses and whole settings --
same result, or the same exception with the same message -- and so are the
five primitives directly.  And `validate` of an ordinary configuration imports
neither re nor ipaddress nor the idna codec."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config import validate as new
from config.model import FIELDS, Settings

# config/validate.py at commit 3e0ea19, verbatim.
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_NUMERIC_HOST = re.compile(r"^[0-9.]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

BEFORE = {
    "_is_label": lambda text: bool(_LABEL.match(text)),
    "_is_numeric_host": lambda text: bool(_NUMERIC_HOST.match(text)),
    "_has_control": lambda text: bool(_CONTROL.search(text)),
    "_is_dot_atom": lambda text: bool(_ATEXT.match(text)),
    "_idna": lambda name: name.encode("idna").decode("ascii"),
}


class _Before:
    """``old.f(...)``: ``new.f(...)`` run with the former primitives."""

    def __getattr__(self, name):
        function = getattr(new, name)

        def call(*args, **kwargs):
            with mock.patch.multiple(new, **BEFORE):
                return function(*args, **kwargs)
        return call


old = _Before()

SPECIAL = list("abcXYZ019.-_:[]%@ \t\n\r\x00\x1f\x7f\x85\x9f\u2028\u2029\u00a0üß。．"
               "!#$%&'*+/=?^`{|}~<>\",;") + ["xn--", "ipv6:", "IPv6:", "::", "255", "256",
                                            "0", "00", "1.2.3.4", "example.com", "a" * 64]
text = st.one_of(
    st.lists(st.sampled_from(SPECIAL), max_size=12).map("".join),
    st.text(max_size=20),
    st.from_regex(r"\A[a-z0-9-]{1,70}(\.[a-z0-9-]{0,70}){0,4}\.?(:[0-9]{0,6})?\Z"),
    st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{0,4}){0,4}(:[0-9]{1,6})?\n?\Z"),
    st.from_regex(r"\A\[[0-9a-fA-F:.%a-z]{0,40}\](:[0-9]{1,6})?\Z"),
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]:587"),
    st.emails().map(str),
)
address = st.one_of(
    text,
    st.emails(),
    st.tuples(st.lists(st.sampled_from(SPECIAL), max_size=8).map("".join), text).map("@".join),
    st.tuples(st.from_regex(r"\A[a-z.!#~]{0,70}\n?\Z"),
              st.sampled_from(["example.com", "[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:x]",
                               "bücher.example", "a..b", "-a.com", "a.123", "[1.2.3]"])
              ).map("@".join),
)


def outcome(function, *args):
    try:
        return ("ok", function(*args))
    except Exception as exc:  # noqa: BLE001 — the type and message are compared
        return (type(exc).__name__, str(exc))


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text, st.sampled_from([25, 110, 587]))
@example("smtp.example.com:587", 25)
@example("[2001:db8::1]:465", 25)
@example("[fe80::1%eth0]", 25)
@example("1.2.3.4\n", 25)
@example("a" * 64 + ".example.com", 25)
@example("bücher.example:25", 25)
@example("münchen.", 25)
def test_the_host_helpers_give_what_they_gave(value, port):
    assert outcome(new.split_host, value, port) == outcome(old.split_host, value, port)
    assert outcome(new.parse_host, value, port) == outcome(old.parse_host, value, port)
    assert outcome(new.check_host, value) == outcome(old.check_host, value)
    assert outcome(new._check_host_part, value) == outcome(old._check_host_part, value)
    assert outcome(new._check_dns_name, value) == outcome(old._check_dns_name, value)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(address)
@example("pbx@example.com")
@example("a.b@[IPv6:2001:db8::1]")
@example("a@[192.0.2.1]")
@example("a..b@example.com")
@example("a\n@example.com")
@example("pbx@bücher.example")
def test_check_address_gives_what_it_gave(value):
    assert outcome(new.check_address, value) == outcome(old.check_address, value)


def _problems(module, s: Settings, mode: int | None):
    return [(p.key, p.severity, p.message, p.fix, p.fix_label)
            for p in module.validate(s, file_mode=mode)]


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(text, address))
@example("a" * 63)
@example("a" * 64)
@example("a-\n")
@example("ab\n")
@example("\n")
@example("1.2.3.4\n")
@example("x\u2028")
@example("\x85")
@example("a..b")
@example("label.")
def test_the_primitives_equal_the_expressions_they_replace(value):
    for name, before in BEFORE.items():
        got, want = outcome(getattr(new, name), value), outcome(before, value)
        if want[0] == "UnicodeError":  # the caller catches it; the codec words it its way
            got, want = got[0], want[0]
        assert got == want, name


def test_the_comparison_can_fail():
    """A primitive that differs from its expression is seen."""
    with mock.patch.object(new, "_is_label", lambda text: True):
        assert outcome(new.check_host, "-a-.example") != outcome(old.check_host, "-a-.example")


setting_values = st.fixed_dictionaries({
    "mail.relay": st.sampled_from(["internal", "external", "other"]),
    "mail.smtp.server": text,
    "mail.pop3.server": text,
    "mail.sender": address,
    "mail.test_recipient": st.one_of(st.just(""), address),
    "mail.sender_name": text,
    "mail.smtp.username": text,
    "mail.smtp.password": text,
    "mail.smtp.ca_file": text,
    "mail.internal.sendmail": text,
    "mail.smtp.security": st.sampled_from(["tls", "starttls", "none", "x"]),
    "mail.smtp.authentication": st.booleans(),
    "mail.smtp.verify_certificates": st.booleans(),
    "mail.smtp.allow_plaintext_auth": st.booleans(),
    "mail.pop3.enabled": st.booleans(),
    "mail.smtp.timeout": st.integers(-5, 700),
    "appliance.deployment": st.sampled_from(["on-premises", "cloud", "x"]),
})


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(setting_values, st.sampled_from([None, 0o100600, 0o100644]))
def test_validate_gives_the_problems_it_gave(values, mode):
    assert set(values) <= set(FIELDS)
    s = Settings().with_values(values)
    assert _problems(new, s, mode) == _problems(old, s, mode)


ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from config.model import Settings
from config.validate import validate
validate(Settings().with_values({values!r}), file_mode=0o100600)
print(sorted(m for m in ("re", "ipaddress", "encodings.idna") if m in sys.modules))
"""


def _loaded_by_validate(values: dict) -> list[str]:
    proc = subprocess.run([sys.executable, "-S", "-c", PROBE.format(values=values)],
                          capture_output=True, text=True, check=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    return json.loads(proc.stdout.replace("'", '"'))


def test_validate_of_an_ordinary_config_imports_no_re_ipaddress_or_idna():
    assert _loaded_by_validate({"mail.relay": "external",
                                "mail.smtp.server": "smtp.example.com:587",
                                "mail.smtp.username": "pbx", "mail.smtp.password": "pw",
                                "mail.sender": "pbx@firma.example"}) == []
    # the probe can fail: an IPv6 server needs ipaddress, a German host the codec
    assert "ipaddress" in _loaded_by_validate({"mail.smtp.server": "[2001:db8::1]:587"})
    assert "encodings.idna" in _loaded_by_validate({"mail.smtp.server": "bücher.example"})
