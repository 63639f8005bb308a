"""Run the double standalone: `python -m tests.elastic_double --port 9200 [--host 127.0.0.1]`."""

from __future__ import annotations

import argparse
import signal
import threading

from .server import EsDoubleServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.elastic_double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9200, help="port to listen on (0 = a free port)")
    parser.add_argument("--strict-refresh", action="store_true",
                        help="searches see writes only after a refresh (default: at once)")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                        help="turn security on with this basic-auth user (repeatable)")
    args = parser.parse_args(argv)
    users = {}
    for spec in args.user:
        name, sep, password = spec.partition(":")
        if not sep or not name:
            parser.error(f"--user expects NAME:PASSWORD, got {spec!r}")
        users[name] = password
    server = EsDoubleServer(args.host, args.port).start()
    if args.strict_refresh:
        server.strict_refresh(True)
    if users:
        server.security.enable(users=users)
    print(f"elastic double listening on {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
