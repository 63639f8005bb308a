"""`python -m pipeline replay-dead-letter PATH`: index a dead-letter file's documents again
(after the fix); what fails again goes to a new dead-letter file next to it."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from elasticsearch import Elasticsearch

from pipeline.index.bulk import IndexingError, index_documents
from pipeline.index.cli_support import error, run_with_es
from pipeline.index.connection import WRITE_ALIAS
from pipeline.index.dead_letter import DeadLetterError, read_dead_letters


def run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        documents = [letter.document for letter in read_dead_letters(path)]
    except DeadLetterError as exc:
        error(str(exc))
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    again = path.with_name(f"{path.stem}.replay-{stamp}.jsonl")

    def body(es: Elasticsearch) -> int:
        try:
            counts = index_documents(es, documents, index=WRITE_ALIAS, dead_letter_path=again)
        except IndexingError as exc:
            error(f"{exc} (counts so far: {exc.counts})")
            return 1
        print(f"replayed {len(documents)} documents from {path}: {counts}")
        if counts.failed:
            print(f"{counts.failed} failed again: {again}")
            return 1
        return 0

    return run_with_es(args, body)
