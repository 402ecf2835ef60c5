"""Real test servers on loopback (127.0.0.1, free ports), started by the tests.

- certs.py     trustme CA and server certificates (valid, wrong host, expired, ...)
- smtp.py      aiosmtpd capture server (implicit TLS / STARTTLS / plain, AUTH)
- faults.py    misbehaving SMTP server (hang-ups, garbage, drip, TLS reset, ...)
- pop3.py      Debian's dovecot as a POP3/POP3S server (SMTP after POP3)
- sendmail.py  msmtp as the sendmail of the internal relay
- fixtures.py  the pytest fixtures (loaded by tests/conftest.py as a plugin)
"""
