"""`python -m shopstack.stripe_emulator --port 12111`: the emulator alone, in the foreground."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from shopstack.stripe_emulator.server import EmulatorServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopstack.stripe_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook", action="append", default=[], help="endpoint URL to deliver events to")
    parser.add_argument("--webhook-secret", default=None, help="signing secret for the --webhook endpoints")
    args = parser.parse_args(argv)
    server = EmulatorServer(args.host, args.port).start()
    for url in args.webhook:
        endpoint = server.emulator.add_webhook_endpoint(url, secret=args.webhook_secret)
        print(f"webhooks to {url} signed with {endpoint['secret']}", flush=True)
    print(f"Stripe emulator at {server.url} (any sk_test_ key)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
