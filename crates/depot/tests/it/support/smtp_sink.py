"""A real SMTP server for depot's mail tests (aiosmtpd): every message it accepts becomes a file
in a Maildir (MAILDIR/new/).

    smtp_sink.py PORT MAILDIR            plain SMTP
    smtp_sink.py PORT MAILDIR TLSDIR implicit
                                         TLS from the first byte (smtps), then AUTH
    smtp_sink.py PORT MAILDIR TLSDIR     STARTTLS required, then AUTH (user "mailer", password
                                         "s3cret-pw"); writes TLSDIR/ca.pem, the CA to trust,
                                         on first start and reuses it after

Prints "ready" on stdout once it accepts connections, then runs until killed.
"""
import os
import ssl
import subprocess
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = b"mailer", b"s3cret-pw"


def make_certs(d):
    """A test CA and a leaf for 127.0.0.1/localhost signed by it (rustls refuses a self-signed
    leaf that is its own CA)."""
    def run(*args):
        subprocess.run(args, check=True, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=depot test CA", "-keyout", "ca.key", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "leaf.key", "-out", "leaf.csr")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", "leaf.pem")


def authenticate(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == USER and data.password == PASSWORD
    # handled=False: the server answers 535 itself (handled=True would answer nothing).
    return AuthResult(success=ok, handled=False)


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    kwargs = {}
    if len(sys.argv) > 3:
        tls_dir = sys.argv[3]
        if not os.path.exists(os.path.join(tls_dir, "leaf.pem")):
            make_certs(tls_dir)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(tls_dir, "leaf.pem"), os.path.join(tls_dir, "leaf.key"))
        if sys.argv[4:] == ["implicit"]:
            kwargs = dict(ssl_context=ctx, authenticator=authenticate, auth_required=True,
                          auth_require_tls=False)
        else:
            kwargs = dict(tls_context=ctx, require_starttls=True, authenticator=authenticate,
                          auth_required=True)
    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
