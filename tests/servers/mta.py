"""Debian's Postfix and Exim as real SMTP servers on loopback (issue 14).

As installed packages they conflict with msmtp-mta (the internal relay's
sendmail, which the tests need too), so ``scripts/unpack-mta`` (run by
``scripts/bootstrap --test``, and by :func:`mta_root` when the tree is
missing) unpacks them with ``apt-get download`` + ``dpkg-deb -x`` into
``build/mta/``; they run from there, as root, with their own configuration,
queue and log in a temporary directory; only 127.0.0.1 at free ports.
Dovecot (tests/servers/pop3.py) does the SASL logins for both.

    pf = PostfixServer(ca, dovecot).start()
    pf.port("submission")     # Debian's stock submission block, chroot off
    pf.log()                  # Postfix's own log (maillog_file)
    pf.stop()

Postfix services (each its own port):

    mta          main.cf defaults: smtpd_relay_restrictions = permit_mynetworks,
                 permit_sasl_authenticated, defer_unauth_destination
                 (mynetworks excludes loopback), smtpd_delay_reject = yes,
                 smtpd_tls_security_level = may, no AUTH
    submission   Debian's master.cf.dist submission block, uncommented
                 (smtpd_tls_security_level=encrypt, smtpd_tls_auth_only,
                 smtpd_recipient_restrictions=permit_sasl_authenticated,reject)
    submissions  Debian's submissions block (smtpd_tls_wrappermode=yes)
    size         submission + message_size_limit = 1000
    sender_login submission + reject_sender_login_mismatch, only
                 tester@example.org is owned by the login "tester"
    helo         mta + smtpd_helo_required, reject_non_fqdn_helo_hostname,
                 loopback in mynetworks (so a good name gets through)
    client       mta + check_client_access inline:{127.0.0.1=REJECT}

Exim (``EximServer``): Debian's own ACLs (conf.d/acl/*) included verbatim,
Debian's example authenticators (PLAIN, LOGIN, CRAM-MD5 against CONFDIR/passwd;
exim4-daemon-light has no dovecot authenticator), AUTH offered only after TLS
(Debian's server_advertise_condition), TLS with the test certificate,
message_size_limit 2K, a blackhole router (nothing is delivered).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers.certs import TestCA
from tests.servers.pop3 import Pop3Server

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
POSTFIX_SERVICES = ("mta", "submission", "submissions", "size", "sender_login", "helo",
                    "client")


def mta_root() -> Path:
    """The unpacked tree (``build/mta``), unpacked now if missing."""
    root = Path(os.environ.get("MAILCONSOLE_MTA_ROOT", ROOT / "build" / "mta"))
    if not (root / "usr/lib/postfix/sbin/master").exists() or \
            not (root / "usr/sbin/exim4").exists():
        subprocess.run([str(ROOT / "scripts" / "unpack-mta"), str(root)], check=True,
                       timeout=600)
    # postdrop/postqueue are setgid: the loader would ignore LD_LIBRARY_PATH
    # (their libraries are in usr/lib/postfix, not /usr/lib/postfix); as root
    # they need no set-group-id.
    for name in ("postdrop", "postqueue"):
        binary = root / "usr/sbin" / name
        if binary.exists() and binary.stat().st_mode & 0o2000:
            binary.chmod(binary.stat().st_mode & ~0o2000)
    return root


def unavailable() -> str:
    """Why Postfix/Exim cannot run here ("" if they can)."""
    if os.geteuid() != 0:
        return "Postfix's master and Exim's daemon run as root (tests run as another user)"
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        return "apt-get/dpkg-deb missing: scripts/unpack-mta needs Debian's tools"
    return ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the server's process group (its own session), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def debian_master_blocks(root: Path) -> dict[str, list[str]]:
    """Debian's commented submission and submissions blocks of master.cf.dist,
    uncommented: {"submission": ["-o syslog_name=...", ...], "submissions": ...}."""
    text = (root / "usr/share/postfix/master.cf.dist").read_text()
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = re.match(r"#(submissions?)\s+inet\s", line)
        if m:
            current = blocks.setdefault(m.group(1), [])
            continue
        if current is not None and re.match(r"#\s+-o ", line):
            current.append(line.lstrip("#").strip())
        elif current is not None and not re.match(r"#\s{3,}", line):
            current = None
    return blocks


class PostfixServer:
    def __init__(self, ca: TestCA, dovecot: Pop3Server) -> None:
        self.ca, self.dovecot = ca, dovecot
        self.root = mta_root()
        self.directory = Path(tempfile.mkdtemp(prefix="mailconsole-postfix-"))
        self.directory.chmod(0o755)
        self.ports: dict[str, int] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def port(self, service: str) -> int:
        return self.ports[service]

    def address(self, service: str) -> str:
        return f"{HOST}:{self.ports[service]}"

    @property
    def ca_file(self) -> str:
        return str(self.ca.ca_file)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "LD_LIBRARY_PATH": str(self.root / "usr/lib/postfix"),
                "MAIL_CONFIG": str(self.directory / "conf")}

    def _write(self) -> None:
        d, r = self.directory, self.root
        conf, queue, data = d / "conf", d / "queue", d / "data"
        for sub in (conf, queue, data):
            sub.mkdir(exist_ok=True)
        for sub in ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
                    "incoming", "private", "saved", "trace"):
            (queue / sub).mkdir(exist_ok=True)
            shutil.chown(queue / sub, "daemon")
            (queue / sub).chmod(0o700)
        for sub, mode in (("public", 0o710), ("maildrop", 0o1730), ("pid", 0o755)):
            (queue / sub).mkdir(exist_ok=True)
            (queue / sub).chmod(mode)
            if sub != "pid":
                shutil.chown(queue / sub, "daemon", "mail")
        shutil.chown(data, "daemon")
        files = self.ca.files("valid")
        (conf / "main.cf").write_text(f"""\
# generated by tests/servers/mta.py: Postfix from {r}
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = {r}/usr/sbin
daemon_directory = {r}/usr/lib/postfix/sbin
shlib_directory = {r}/usr/lib/postfix
meta_directory = {r}/etc/postfix
mail_owner = daemon
setgid_group = mail
default_privs = nobody
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH
export_environment = TZ MAIL_CONFIG LANG LD_LIBRARY_PATH
maillog_file = {d}/maillog
maillog_file_prefixes = /tmp
myhostname = mail.test.example
mydestination =
relay_domains =
mynetworks = 192.0.2.0/24
inet_interfaces = {HOST}
inet_protocols = ipv4
alias_maps =
alias_database =
default_transport = discard:
relay_transport = discard:
smtpd_tls_cert_file = {files.cert_file}
smtpd_tls_key_file = {files.key_file}
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = {self.dovecot.auth_socket}
smtpd_sasl_auth_enable = no
smtpd_error_sleep_time = 0
""")
        blocks = debian_master_blocks(r)
        sub = blocks["submission"]
        subs = blocks["submissions"]
        extra = {
            "mta": [],
            "submission": sub,
            "submissions": subs,
            "size": [*sub, "-o message_size_limit=1000"],
            "sender_login": [*sub, "-o smtpd_sender_restrictions=reject_sender_login_mismatch",
                             "-o smtpd_sender_login_maps=inline:{tester@example.org=tester}"],
            "helo": ["-o smtpd_helo_required=yes",
                     "-o smtpd_helo_restrictions=reject_non_fqdn_helo_hostname",
                     "-o mynetworks=127.0.0.0/8"],
            "client": [f"-o smtpd_client_restrictions=check_client_access,"
                       f"inline:{{{HOST}=REJECT}}"],
        }
        lines = []
        for service in POSTFIX_SERVICES:
            lines.append(f"{HOST}:{self.ports[service]} inet n - n - - smtpd")
            lines += [f"  {option}" for option in extra[service]]
        # Debian's internal services, chroot off (no chroot tree here)
        for line in (r / "usr/share/postfix/master.cf.dist").read_text().splitlines():
            fields = line.split()
            if not line.startswith(("#", " ", "\t")) and len(fields) >= 8 and \
                    fields[1] in ("unix", "unix-dgram", "fifo") and fields[7] != "pipe":
                fields[4] = "n"
                lines.append(" ".join(fields))
        (conf / "master.cf").write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 20.0) -> PostfixServer:
        last = ""
        for _attempt in range(3):
            self.ports = {service: _free_port() for service in POSTFIX_SERVICES}
            self._write()
            self.proc = subprocess.Popen(
                [str(self.root / "usr/lib/postfix/sbin/master"), "-c",
                 str(self.directory / "conf"), "-d"],
                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(self.directory / "stderr.log", "wb"), start_new_session=True)
            if all(_wait_port(p, self.proc, timeout) for p in self.ports.values()):
                return self
            last = self.log()[-2000:]
            _stop(self.proc)
        self.stop()
        raise RuntimeError(f"postfix did not start: {last}")

    def log(self) -> str:
        path = self.directory / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_log(self, pattern: str, timeout: float = 5.0) -> str:
        """Postfix's log once a line matches ``pattern`` (or after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if re.search(pattern, log):
                return log
            time.sleep(0.05)
        return self.log()

    def wait_disconnects(self, count: int, timeout: float = 5.0) -> list[str]:
        """The "disconnect from" lines of Postfix's log of sessions that sent a
        command, once there are ``count`` (each says which commands the client
        sent, e.g. "... quit=1 commands=5/6").  The fixture's readiness probes
        (no command: "commands=0/0", "lost connection after CONNECT") are left out."""
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while time.monotonic() < deadline:
            lines = [line for line in self.log().splitlines()
                     if "disconnect from" in line and "commands=0/0" not in line]
            if len(lines) >= count:
                break
            time.sleep(0.05)
        return lines

    def sendmail_wrapper(self, path: Path, config_dir: Path | None = None) -> Path:
        """A ``sendmail`` script running Postfix's sendmail from the unpacked
        tree with MAIL_CONFIG = ``config_dir`` (default: this server's)."""
        conf = config_dir or self.directory / "conf"
        path.write_text(f"#!/bin/sh\nLD_LIBRARY_PATH={self.root}/usr/lib/postfix "
                        f"MAIL_CONFIG={conf} exec {self.root}/usr/sbin/sendmail \"$@\"\n")
        path.chmod(0o755)
        return path

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None
        shutil.rmtree(self.directory, ignore_errors=True)


class EximServer:
    """Exim 4 from the unpacked tree: ``exim4 -bdf -oX PORT -C conf``."""

    def __init__(self, ca: TestCA, *, user: str = "tester", password: str = "") -> None:
        self.ca, self.user, self.password = ca, user, password
        self.root = mta_root()
        self.directory = Path(tempfile.mkdtemp(prefix="mailconsole-exim-"))
        self.directory.chmod(0o755)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.ca.ca_file)

    def _write(self) -> Path:
        d, acl = self.directory, self.root / "etc/exim4/conf.d/acl"
        for sub in ("spool", "log"):
            (d / sub).mkdir(exist_ok=True)
            shutil.chown(d / sub, "daemon", "daemon")
        # Exim reads the certificate at STARTTLS as its user (exim_user), and
        # pytest's temporary directories are 0700: a copy it may read
        files = self.ca.files("valid")
        for source, name in ((files.cert_file, "cert.pem"), (files.key_file, "key.pem")):
            shutil.copy(source, d / name)
            shutil.chown(d / name, "daemon", "daemon")
            (d / name).chmod(0o600)
        conf = d / "exim4.conf"
        # Debian's ACL files, in order; the first one says "begin acl"
        includes = "\n".join(f".include {acl / name}" for name in sorted(os.listdir(acl)))
        conf.write_text(f"""\
# generated by tests/servers/mta.py: Exim from {self.root}, Debian's ACLs
CONFDIR = {d}
MAIN_TLS_ENABLE = yes
domainlist local_domains = exim.test.example
domainlist relay_to_domains =
hostlist relay_from_hosts = 192.0.2.0/24
primary_hostname = exim.test.example
exim_user = daemon
exim_group = daemon
never_users =
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
pid_file_path = {d}/exim.pid
local_interfaces = {HOST}
daemon_smtp_ports = {self.port}
tls_advertise_hosts = *
tls_certificate = {d}/cert.pem
tls_privatekey = {d}/key.pem
auth_advertise_hosts = ${{if eq{{$tls_in_cipher}}{{}}{{}}{{*}}}}
message_size_limit = 2K
acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_data = acl_check_data
keep_environment =
{includes}
begin routers
blackhole:
  driver = redirect
  data = :blackhole:
begin transports
begin authenticators
{self._debian_authenticators()}
""")
        return conf

    def _debian_authenticators(self) -> str:
        """Debian's example plain_server, login_server and cram_md5_server
        (conf.d/auth/30_exim4-config_examples), uncommented, with the
        CONFDIR/passwd file they read (user:crypt:clear)."""
        import warnings

        with warnings.catch_warnings():  # Python 3.11's crypt (gone in 3.13): the
            warnings.simplefilter("ignore", DeprecationWarning)  # hash Debian's
            import crypt  # passwd file wants (crypteq)

        (self.directory / "passwd").write_text(
            f"{self.user}:{crypt.crypt(self.password, crypt.mksalt(crypt.METHOD_SHA512))}:"
            f"{self.password}\n")
        shutil.chown(self.directory / "passwd", "root", "daemon")  # exim_group
        (self.directory / "passwd").chmod(0o640)
        text = (self.root / "etc/exim4/conf.d/auth/30_exim4-config_examples").read_text()
        out, keep = [], False
        for line in text.splitlines():
            if re.match(r"# (plain_server|login_server|cram_md5_server):$", line):
                keep = True
                out.append(line[2:])
            elif not line.startswith("#   "):
                keep = keep and line == "#"
            elif keep:
                out.append(line[2:])
        return "\n".join(out)

    def start(self, timeout: float = 20.0) -> EximServer:
        last = ""
        for _attempt in range(3):
            self.port = _free_port()
            conf = self._write()
            self.proc = subprocess.Popen(
                [str(self.root / "usr/sbin/exim4"), "-bdf", "-oX", str(self.port),
                 "-C", str(conf)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(self.directory / "stderr.log", "wb"), start_new_session=True)
            if _wait_port(self.port, self.proc, timeout):
                return self
            last = (self.directory / "stderr.log").read_text(errors="replace") + self.log()
            _stop(self.proc)
        self.stop()
        raise RuntimeError(f"exim did not start: {last[-2000:]}")

    def log(self) -> str:
        out = []
        for name in ("mainlog", "rejectlog", "paniclog"):
            path = self.directory / "log" / name
            if path.exists():
                out.append(path.read_text(errors="replace"))
        return "".join(out)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None
        shutil.rmtree(self.directory, ignore_errors=True)
