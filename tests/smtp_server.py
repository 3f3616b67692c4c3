#!/usr/bin/env python3
"""A real SMTP server for tasksync's tests (aiosmtpd 1.4.6), started by each test on a free port.

Each accepted mail is appended to --out as one JSON line: {"from", "to", "data"}. Options script
the failures tests need: --reject CODE answers RCPT TO with CODE; --tempfail N answers DATA with
451 for the first N mails; --stall SECONDS records the first mail, then waits before answering;
--cert/--key require STARTTLS with that certificate; --auth USER:PASSWORD requires AUTH.
Prints "ready" once it accepts connections, and serves until killed.
"""
import argparse
import asyncio
import json
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--reject", type=int, default=0)
    parser.add_argument("--tempfail", type=int, default=0)
    parser.add_argument("--stall", type=float, default=0.0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth")
    args = parser.parse_args()

    class Handler:
        def __init__(self) -> None:
            self.count = 0

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if args.reject:
                return f"{args.reject} 5.1.1 <{address}>: Recipient address rejected: User unknown"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.count += 1
            if self.count <= args.tempfail:
                return "451 4.3.0 Temporary local problem, try again later"
            record = {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
            }
            with open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
            if args.stall and self.count == 1:
                await asyncio.sleep(args.stall)
            return "250 2.0.0 Ok: queued as TEST" + str(self.count)

    parameters = {}
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        parameters.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: aiosmtpd answers itself (235, or 535 on failure).
            return AuthResult(success=ok, handled=False)

        parameters.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.cert))

    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, **parameters)
    controller.start()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
