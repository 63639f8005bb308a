"""`python -m pipeline es-drop-index NAME`: delete an old index version no alias points to."""

from __future__ import annotations

import argparse

from elasticsearch import Elasticsearch

from pipeline.index.cli_support import error, run_with_es
from pipeline.index.reindex import ReindexError, drop_index


def run(args: argparse.Namespace) -> int:
    def body(es: Elasticsearch) -> int:
        try:
            drop_index(es, args.index)
        except ReindexError as exc:
            error(str(exc))
            return 1
        print(f"deleted index {args.index}")
        return 0

    return run_with_es(args, body)
