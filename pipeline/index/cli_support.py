"""What the Elasticsearch commands share: connect with a one-line error, run with one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from elasticsearch import ApiError, Elasticsearch, TransportError

from pipeline.index.connection import EsConnectionError, connect, describe_error, transport_reason


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def run_with_es(args: argparse.Namespace, body: Callable[[Elasticsearch], int]) -> int:
    """Connect (ES_URL or --es-url) and run `body`; connection, credential and API errors
    become one line on stderr and exit code 1."""
    try:
        es = connect(getattr(args, "es_url", None))
    except EsConnectionError as exc:
        error(str(exc))
        return 1
    try:
        return body(es)
    except EsConnectionError as exc:
        error(str(exc))
        return 1
    except ApiError as exc:
        error(f"Elasticsearch answered {exc.status_code}: {describe_error(exc)}")
        return 1
    except TransportError as exc:
        error(f"Elasticsearch became unreachable: {transport_reason(exc)}")
        return 1
