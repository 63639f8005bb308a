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
    args = parser.parse_args(argv)
    server = EsDoubleServer(args.host, args.port).start()
    print(f"elastic double listening on {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
