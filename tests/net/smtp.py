#!/usr/bin/python3
"""A real SMTP server for tests (Debian's python3-aiosmtpd), printing each mail
as one JSON line. Usage: smtp.py PORT plain|starttls [CERT KEY]
With starttls, STARTTLS and AUTH (user / right) are required. SMTP_HOST sets
the address to listen on (default 127.0.0.1)."""
import os
import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                          "data": envelope.content.decode("utf8", "replace")}), flush=True)
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"user" and auth_data.password == b"right"
    # handled=False lets aiosmtpd answer 535 itself.
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)


port, mode = int(sys.argv[1]), sys.argv[2]
kwargs = {}
if mode == "starttls":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    kwargs = dict(tls_context=ctx, require_starttls=True, authenticator=authenticate, auth_required=True)
controller = Controller(Handler(), hostname=os.environ.get("SMTP_HOST", "127.0.0.1"), port=port, **kwargs)
controller.start()
print("listening", flush=True)
while True:
    time.sleep(3600)
