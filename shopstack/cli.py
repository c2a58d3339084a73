"""The `shopstack` command: run the local cloud and talk to it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopstack", description="shopstack developer tooling")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole stack on this machine, in the foreground")
    up.add_argument(
        "--host",
        default="127.0.0.1",
        help="gateway address (default loopback; another address is warned about: the local cloud has no "
        "authentication on its control endpoints; moto and the Stripe emulator always stay on 127.0.0.1)",
    )
    up.add_argument("--port", type=int, default=3000, help="API gateway port")
    up.add_argument("--moto-port", type=int, default=None, help="AWS services port (default: port + 1)")
    up.add_argument("--stripe-port", type=int, default=None, help="Stripe emulator port (default: port + 2)")
    up.add_argument("--seed", choices=["demo", "none"], default="none")
    up.add_argument("--fresh", action="store_true", help="start empty, ignoring saved state")
    up.add_argument(
        "--ses",
        choices=["sandbox", "production"],
        default="sandbox",
        help="SES as a new account (sandbox: only verified senders and recipients) or with production access",
    )
    up.add_argument(
        "--chaos",
        action="append",
        default=[],
        metavar="SERVICE=RATE",
        help="fail that share of calls as AWS does, e.g. dynamodb=0.05 (writes fail before they apply)",
    )

    token = sub.add_parser(
        "token", help="print an ID token for a local user (made on first use; it signs in with the local password)"
    )
    token.add_argument("--email", required=True)
    token.add_argument("--admin", action="store_true", help="make the user a member of group admin")
    token.add_argument("--endpoint", default="http://127.0.0.1:3000")

    doctor = sub.add_parser(
        "doctor", help="list what the operator still has to do before a deploy works (exit 0: nothing)"
    )
    doctor.add_argument("--stage", default=None, help="the stage to check (default: context stage in cdk.json)")
    doctor.add_argument(
        "--endpoint", default=None, help="a local cloud's gateway URL (default: AWS, with your credentials)"
    )

    mail = sub.add_parser("mail", help="list the email the local cloud captured, oldest first")
    mail.add_argument("--endpoint", default="http://127.0.0.1:3000")
    mail.add_argument("--to", default=None, help="only mail addressed to this address")
    mail.add_argument("--json", action="store_true", help="every message in full, as JSON")
    replay = sub.add_parser(
        "replay", help="re-drive the events the bus archived in a time range (consumers drop duplicates)"
    )
    replay.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD or an ISO 8601 time (UTC)")
    replay.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (that whole day) or an ISO 8601 time")
    replay.add_argument("--rule", default=None, help="only to this rule of the bus (default: every rule)")
    replay.add_argument("--endpoint", default="http://127.0.0.1:3000")

    alarms = sub.add_parser("alarms", help="each CloudWatch alarm the local cloud evaluates, and its state")
    alarms.add_argument("--endpoint", default="http://127.0.0.1:3000")
    logs = sub.add_parser("logs", help="the functions' log lines the local cloud collected, oldest first")
    logs.add_argument("--function", default=None, help="only this function (its short name, e.g. CheckoutApi)")
    logs.add_argument("--correlation-id", default=None, help="only lines of this correlation id")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")
    logs.add_argument("--json", action="store_true", help="each line as the JSON document served")
    logs.add_argument("--endpoint", default="http://127.0.0.1:3000")
    trace = sub.add_parser("trace", help="one order's path: functions, events, workflow states, email, in time order")
    trace.add_argument("order_id", metavar="ORDER_ID")
    trace.add_argument("--json", action="store_true", help="the whole trace document")
    trace.add_argument("--endpoint", default="http://127.0.0.1:3000")
    return parser


def _mail(endpoint: str, to: str | None, as_json: bool) -> int:
    import sys

    from shopstack.localcloud.mail import MailUnavailable, fetch, render

    try:
        messages = fetch(endpoint, to)
    except MailUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    print(render(messages, as_json=as_json))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "up":
        from shopstack.localcloud.chaos import parse_spec
        from shopstack.localcloud.up import run

        try:
            chaos = parse_spec(args.chaos)
        except ValueError as exc:
            _parser().error(str(exc))
        return run(
            host=args.host,
            port=args.port,
            moto_port=args.moto_port or args.port + 1,
            stripe_port=args.stripe_port or args.port + 2,
            seed=args.seed,
            fresh=args.fresh,
            ses_mode=args.ses,
            chaos=chaos,
        )
    if args.command == "doctor":
        from shopstack.doctor import run as doctor

        return doctor(stage=args.stage, endpoint=args.endpoint)
    if args.command == "mail":
        return _mail(args.endpoint, args.to, args.json)
    if args.command in ("alarms", "logs", "trace"):
        from shopstack import observe

        if args.command == "alarms":
            return observe.alarms(args.endpoint)
        if args.command == "logs":
            return observe.logs(
                args.endpoint,
                function=args.function,
                correlation_id=args.correlation_id,
                follow=args.follow,
                as_json=args.json,
            )
        return observe.trace(args.endpoint, args.order_id, as_json=args.json)
    if args.command == "replay":
        from shopstack.replay import run as replay

        return replay(endpoint=args.endpoint, start=args.start, end=args.end, rule=args.rule)
    from shopstack.localcloud.tokens import LOCAL_PASSWORD, issue_token

    print(issue_token(args.endpoint, args.email, admin=args.admin))
    kind = "staff (group admin): /console/" if args.admin else "a customer"
    print(f"{args.email} signs in as {kind} with the local password {LOCAL_PASSWORD}", file=sys.stderr)
    return 0
