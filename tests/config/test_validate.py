"""Validation rules: hosts, ports, addresses, cross-field rules, warnings."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.model import Settings
from config.validate import (
    Problem,
    check_address,
    check_host,
    errors,
    parse_host,
    split_host,
    validate,
    warnings,
)

SENTINEL = "S3ntinel-Pw-4711"


def external(**values):
    base = {
        "mail.relay": "external",
        "mail.sender": "pbx@customer.example",
        "mail.smtp.server": "smtp.example.com:587",
        "mail.smtp.username": "pbx",
        "mail.smtp.password": SENTINEL,
    }
    base.update({k.replace("__", "."): v for k, v in values.items()})
    return Settings().with_values(base)


def by_key(problems: list[Problem], severity: str | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        if severity is None or p.severity == severity:
            out.setdefault(p.key, []).append(p.message)
    return out


# --- the manual's example and hosts ------------------------------------------


def test_the_manuals_example_server_is_rejected_naming_the_bad_number():
    problems = validate(external(**{"mail.smtp.server": "101.202.303.404:88"}))
    msgs = [str(p) for p in errors(problems)]
    assert msgs == ['mail.smtp.server: "101.202.303.404" is not a valid IPv4 address (303 > 255)']


def test_a_malformed_server_is_an_error_even_while_the_internal_relay_is_chosen():
    s = Settings().with_values({"mail.smtp.server": "101.202.303.404:88"})
    assert [p.key for p in errors(validate(s))] == ["mail.smtp.server"]


@pytest.mark.parametrize("text, expected", [
    ("192.0.2.10", ("192.0.2.10", 25)),
    ("192.0.2.10:588", ("192.0.2.10", 588)),
    ("smtp.example.com", ("smtp.example.com", 25)),
    ("SMTP.Example.COM.:465", ("smtp.example.com", 465)),
    ("bücher.example:587", ("xn--bcher-kva.example", 587)),
    ("[2001:db8::1]", ("2001:db8::1", 25)),
    ("[2001:db8::1]:587", ("2001:db8::1", 587)),
    ("localhost:1", ("localhost", 1)),
    ("mail:65535", ("mail", 65535)),
])
def test_a_valid_server_parses_to_a_connectable_host_and_port(text, expected):
    assert parse_host(text, 25) == expected


@pytest.mark.parametrize("text, fragment", [
    ("101.202.303.404", "(303 > 255)"),
    ("1.2.3", "four numbers"),
    ("1.2.3.4.5", "four numbers"),
    ("010.1.1.1", "leading zero"),
    ("smtp.example.com:0", "out of range"),
    ("smtp.example.com:65536", "out of range"),
    ("smtp.example.com:", "not a port number"),
    ("smtp.example.com:abc", "not a port number"),
    ("smtp.example.com:²5", "not a port number"),
    ("2001:db8::1", "in brackets"),
    ("[2001:db8::zz]:25", "not a valid IPv6 address"),
    ("[2001:db8::1", "closing"),
    ("[2001:db8::1]x", "only \":port\""),
    ("-smtp.example.com", "must not start with"),
    ("smtp example.com", "space"),
    ("smtp.example.com\n", "control"),
    ("smtp_1.example.com", '"_"'),
    ("-a.example.com", "must not start"),
    ("a-.example.com", "not starting or ending"),
    ("a..example.com", "valid host name"),
    ("a" * 64 + ".example.com", "valid host name"),
    ("example.123", "all digits"),
    ("", "empty"),
])
def test_an_invalid_server_is_refused_with_a_reason(text, fragment):
    with pytest.raises(ValueError) as e:
        parse_host(text, 25)
    assert fragment in str(e.value)


def test_split_host_keeps_the_host_as_written():
    assert split_host("Bücher.example:26", 25) == ("Bücher.example", 26)
    assert split_host("[::1]", 25) == ("[::1]", 25)


@given(st.ip_addresses(v=4), st.integers(1, 65535))
def test_every_ipv4_address_and_port_is_accepted(addr, port):
    assert parse_host(f"{addr}:{port}", 25) == (str(addr), port)


@given(st.ip_addresses(v=6), st.integers(1, 65535))
def test_every_bracketed_ipv6_address_and_port_is_accepted(addr, port):
    assert parse_host(f"[{addr}]:{port}", 25) == (str(addr), port)


@given(st.lists(st.integers(0, 999), min_size=4, max_size=4))
def test_a_dotted_quad_is_accepted_exactly_when_every_number_is_at_most_255(nums):
    text = ".".join(map(str, nums))
    try:
        host, port = parse_host(text, 25)
    except ValueError as e:
        bad = next(n for n in nums if n > 255)
        assert f"({bad} > 255)" in str(e)
    else:
        assert all(n <= 255 for n in nums)
        assert ipaddress.IPv4Address(host) and port == 25


@given(st.integers(-10**6, 10**6))
def test_a_port_is_accepted_exactly_when_it_is_1_to_65535(port):
    try:
        _h, p = parse_host(f"smtp.example.com:{port}", 25)
    except ValueError:
        assert not 1 <= port <= 65535
    else:
        assert p == port and 1 <= port <= 65535


_label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")


@given(st.lists(_label, min_size=1, max_size=4), st.sampled_from(["com", "de", "example"]))
def test_every_rfc1123_host_name_is_accepted(labels, tld):
    name = ".".join([*labels, tld])
    assert parse_host(name, 25) == (name, 25)


@given(st.text(max_size=30))
def test_host_parsing_never_crashes_and_any_accepted_host_is_clean(text):
    try:
        host, port = parse_host(text, 25)
    except ValueError as e:
        assert str(e)
    else:
        assert host and host.isascii() and 1 <= port <= 65535
        assert not any(c.isspace() or ord(c) < 32 for c in host)
        assert check_host(split_host(text, 25)[0]) is None


# --- addresses ------------------------------------------------------------------


@pytest.mark.parametrize("addr", [
    "pbx@example.com", "first.last+tag@sub.example.de", "a@localhost",
    "x@bücher.example", "o'brien@example.com", "x@[192.0.2.1]", "x@[IPv6:2001:db8::1]",
])
def test_a_single_bare_address_is_accepted(addr):
    assert check_address(addr) is None


@pytest.mark.parametrize("addr, fragment", [
    ("", "empty"),
    ("PBX <pbx@example.com>", "display name"),
    ('"PBX" pbx@example.com', "display name"),
    ("a@example.com, b@example.com", "exactly one"),
    ("a@example.com;b@example.com", "exactly one"),
    ("a@b@example.com", "more than one"),
    ("pbx@example.com\r\nBcc: victim@example.com", "control"),
    ("pbx@exam\x00ple.com", "control"),
    ("pbx@example.com\t", "control"),
    ("-oQ/tmp/x@example.com", 'start with "-"'),
    ("pbx example.com", "spaces"),
    ("pbx.example.com", '"@" is missing'),
    ("@example.com", "before"),
    ("pbx@", "domain"),
    ("a..b@example.com", "before"),
    (".a@example.com", "before"),
    ("a@exa_mple.com", "host name"),
    ("a@[300.1.1.1]", "address literal"),
    ("x" * 65 + "@example.com", "64"),
])
def test_an_address_that_is_not_exactly_one_addr_spec_is_refused(addr, fragment):
    reason = check_address(addr)
    assert reason is not None and fragment in reason


_local = st.from_regex(  # a leading "-" is refused on purpose (option injection)
    r"\A[A-Za-z0-9!#$%&'*+/=?^_`{|}~][A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,19}"
    r"(\.[A-Za-z0-9_+-]{1,10}){0,2}\Z")


@given(_local, st.lists(_label, min_size=1, max_size=3))
def test_every_dot_atom_address_is_accepted(local, labels):
    assert check_address(local + "@" + ".".join([*labels, "org"])) is None


@given(st.text(max_size=40))
def test_an_accepted_address_never_holds_controls_spaces_or_a_leading_dash(text):
    if check_address(text) is None:
        assert text.count("@") == 1 and not text.startswith("-")
        assert not any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in text)
        assert "<" not in text and "," not in text


# --- validate(): the whole settings ----------------------------------------------


def test_fresh_defaults_are_valid_with_only_the_internal_relay_warning():
    problems = validate(Settings())
    assert errors(problems) == []
    assert [p.key for p in warnings(problems)] == ["mail.relay"]
    assert "M2" in problems[0].message
    assert problems[0].fix == {"mail.relay": "external"}


def test_a_complete_external_setup_has_no_problem():
    assert validate(external()) == []


def test_an_external_relay_needs_a_server():
    assert "mail.smtp.server" in by_key(validate(external(**{"mail.smtp.server": ""})), "error")


def test_authentication_needs_username_and_password():
    bad = by_key(validate(external(**{"mail.smtp.username": "", "mail.smtp.password": ""})),
                 "error")
    assert set(bad) == {"mail.smtp.username", "mail.smtp.password"}


def test_cross_field_rules_do_not_apply_while_the_relay_is_internal():
    s = external(**{"mail.relay": "internal", "mail.smtp.server": "", "mail.smtp.username": "",
                    "mail.pop3.enabled": True, "mail.smtp.security": "none"})
    assert errors(validate(s)) == []


def test_pop3_needs_authentication_off_and_says_so_on_both_fields():
    bad = by_key(validate(external(**{"mail.pop3.enabled": True})), "error")
    assert "mail.pop3.enabled" in bad and "mail.smtp.authentication" in bad
    assert "mail.pop3.server" in bad


def test_pop3_with_authentication_off_and_a_server_is_valid():
    s = external(**{"mail.pop3.enabled": True, "mail.smtp.authentication": False,
                    "mail.pop3.server": "pop.example.com:995"})
    assert errors(validate(s)) == []


def test_a_malformed_pop3_server_is_refused():
    s = external(**{"mail.pop3.enabled": True, "mail.smtp.authentication": False,
                    "mail.pop3.server": "pop.example.com:99999"})
    assert "mail.pop3.server" in by_key(validate(s), "error")


def test_the_cloud_refuses_the_default_sender_even_with_the_internal_relay():
    s = Settings().with_values({"appliance.deployment": "cloud"})
    assert [p.key for p in errors(validate(s))] == ["mail.sender"]
    assert "M4" in errors(validate(s))[0].message
    ok = s.with_values({"mail.sender": "pbx@customer.example"})
    assert errors(validate(ok)) == []


def test_a_sender_with_a_display_name_or_a_header_injection_is_an_error():
    for sender in ("PBX <pbx@example.com>", "pbx@example.com\nBcc: x@example.com"):
        assert "mail.sender" in by_key(validate(external(**{"mail.sender": sender})), "error")


def test_an_empty_test_recipient_is_fine_but_a_bad_one_is_not():
    assert validate(external(**{"mail.test_recipient": ""})) == []
    assert "mail.test_recipient" in by_key(
        validate(external(**{"mail.test_recipient": "a@b, c@d"})), "error")


def test_a_line_break_in_the_display_name_is_an_error():
    bad = by_key(validate(external(**{"mail.sender_name": "PBX\r\nBcc: x@example.com"})))
    assert "mail.sender_name" in bad


def test_unknown_choices_and_out_of_range_timeouts_are_errors():
    s = external(**{"mail.smtp.security": "ssl", "mail.smtp.timeout": 0})
    assert {"mail.smtp.security", "mail.smtp.timeout"} <= set(by_key(validate(s), "error"))


def test_unencrypted_and_unchecked_connections_are_warnings_not_errors():
    none = validate(external(**{"mail.smtp.security": "none", "mail.smtp.server": "mx:25",
                                "mail.smtp.authentication": False}))
    assert errors(none) == [] and "M12" in by_key(none)["mail.smtp.security"][0]
    off = validate(external(**{"mail.smtp.verify_certificates": False}))
    assert errors(off) == [] and "mail.smtp.verify_certificates" in by_key(off, "warning")


def test_tls_not_on_465_is_a_warning_with_a_one_key_fix_to_port_465():
    (p,) = validate(external(**{"mail.smtp.security": "tls",
                                "mail.smtp.server": "smtp.example.com:587"}))
    assert p.severity == "warning" and p.key == "mail.smtp.server"
    assert p.fix == {"mail.smtp.server": "smtp.example.com:465"}
    assert p.fix_label == "use port 465"
    assert validate(external(**{"mail.smtp.security": "tls",
                                "mail.smtp.server": "smtp.example.com:465"})) == []


def test_starttls_on_465_is_a_warning_with_a_one_key_fix_to_port_587():
    (p,) = validate(external(**{"mail.smtp.server": "[2001:db8::1]:465"}))
    assert p.fix == {"mail.smtp.server": "[2001:db8::1]:587"} and p.fix_label == "use port 587"
    fixed = external(**{"mail.smtp.server": "[2001:db8::1]:465"}).with_values(p.fix)
    assert validate(fixed) == []


def test_a_password_in_a_file_others_may_read_is_a_warning():
    assert "mail.smtp.password" in by_key(validate(external(), file_mode=0o100644), "warning")
    assert validate(external(), file_mode=0o100600) == []
    no_pw = Settings()
    assert "mail.smtp.password" not in by_key(validate(no_pw, file_mode=0o100644))


def test_allowing_a_plaintext_login_is_a_warning():
    p = validate(external(**{"mail.smtp.allow_plaintext_auth": True}))
    assert [x.key for x in p] == ["mail.smtp.allow_plaintext_auth"]
    assert p[0].fix == {"mail.smtp.allow_plaintext_auth": False}


def test_no_problem_message_ever_contains_the_password():
    s = external(**{"mail.smtp.password": SENTINEL + "\n", "mail.smtp.security": "none",
                    "mail.smtp.allow_plaintext_auth": True})
    problems = validate(s, file_mode=0o100666)
    assert "mail.smtp.password" in by_key(problems, "error")
    assert all(SENTINEL not in str(p) and SENTINEL not in repr(p) for p in problems)


def test_an_unencrypted_login_without_the_opt_in_is_an_error_with_its_fix():
    """One verdict (issue 14): the mailer never sends a password unencrypted
    without mail.smtp.allow_plaintext_auth, so validate says so too."""
    for values in ({"mail.smtp.security": "none"},
                   {"mail.smtp.security": "none", "mail.smtp.authentication": False,
                    "mail.pop3.enabled": True, "mail.pop3.server": "pop.example.com"}):
        problems = [p for p in validate(external(**values)) if p.severity == "error"]
        assert [p.key for p in problems] == ["mail.smtp.security"], problems
        assert problems[0].fix == {"mail.smtp.security": "starttls"}
        assert "allow_plaintext_auth" in problems[0].message
    opted_in = validate(external(**{"mail.smtp.security": "none",
                                    "mail.smtp.allow_plaintext_auth": True}))
    assert errors(opted_in) == []


@pytest.mark.parametrize("name", ["pbx.example.com", "pbx.example.com.", "[192.0.2.1]",
                                  "[IPv6:2001:db8::1]", "a-b.c-d.example"])
def test_a_fully_qualified_ehlo_name_or_an_address_literal_is_valid(name):
    assert errors(validate(external(**{"mail.smtp.ehlo_name": name}))) == []


@pytest.mark.parametrize("name", ["vm", "pbx example.com", "[192.0.2.300]", "[2001:db8::1]",
                                  "-x.example.com", "pbx.example.123", "pbx\r\n.example.com"])
def test_a_bare_or_malformed_ehlo_name_is_an_error(name):
    bad = by_key(validate(external(**{"mail.smtp.ehlo_name": name})), "error")
    assert "mail.smtp.ehlo_name" in bad
