"""`python -m pipeline es-setup`: template, first index version and aliases (idempotent)."""

from __future__ import annotations

import argparse

from elasticsearch import Elasticsearch

from pipeline.index.cli_support import error, run_with_es
from pipeline.index.connection import READ_ALIAS, TEMPLATE_NAME, WRITE_ALIAS
from pipeline.index.setup import SetupError, ensure_indices


def run(args: argparse.Namespace) -> int:
    return run_with_es(args, _setup)


def _setup(es: Elasticsearch) -> int:
    try:
        result = ensure_indices(es)
    except SetupError as exc:
        error(str(exc))
        return 1
    print(f"template {TEMPLATE_NAME}: {result.template}")
    print(f"index {result.index}: {result.index_status}; aliases {READ_ALIAS}, {WRITE_ALIAS}: {result.aliases}; "
          f"mapping: {result.mapping}")
    for message in result.messages:
        print(f"  {message}")
    print("es-setup: " + ("done" if result.changed else "unchanged"))
    return 0
