"""`python -m pipeline …`: the command line. Names and options here are a stable interface.

This module only parses arguments; each sub-command lives in `pipeline/commands/<name>.py`
as `run(args) -> int` and is imported lazily, so `--help` stays instant and no command pays
for another's imports (spaCy, Elasticsearch client, …).

Exit codes: 0 success, 1 the run failed (network, Elasticsearch, …), 2 unusable input or usage,
3 (`fetch`, `ingest`) the run went through but some sources are degraded (pipeline.flows.report.EXIT_CODES).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from pipeline.version import PIPELINE_VERSION

COMMANDS: dict[str, str] = {
    "process": "pipeline.commands.process",
    "fetch": "pipeline.commands.fetch",
    "ingest": "pipeline.commands.ingest",
    "es-setup": "pipeline.commands.es_setup",
    "reprocess": "pipeline.commands.reprocess",
    "backfill": "pipeline.commands.backfill",
    "reindex": "pipeline.commands.reindex",
    "es-drop-index": "pipeline.commands.es_drop_index",
    "replay-dead-letter": "pipeline.commands.replay_dead_letter",
}


def _add_range_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="date_from", required=True, metavar="DATE",
                   help="start, inclusive (YYYY-MM-DD or ISO datetime, UTC unless an offset is given)")
    p.add_argument("--to", dest="date_to", required=True, metavar="DATE",
                   help="end (a date includes the whole day; a datetime is exclusive)")


def _add_sources_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sources", metavar="FILE", help="sources file (default: $NEWSFLOW_SOURCES or config/sources.yaml)")
    p.add_argument("--source", metavar="ID", action="append", dest="source_ids",
                   help="only this source (repeatable; default: every enabled source)")
    p.add_argument("--archive", metavar="URL",
                   help="archive root, a directory or fsspec URL (default: $NEWSFLOW_ARCHIVE or ./data/archive)")


def _add_es_options(p: argparse.ArgumentParser, *, allow_no_index: bool) -> None:
    group = p.add_mutually_exclusive_group() if allow_no_index else p
    group.add_argument("--es-url", metavar="URL", help="Elasticsearch URL (default: $ES_URL); credentials from "
                       "$ES_USERNAME/$ES_PASSWORD or $ES_API_KEY, CA file from $ES_CA_CERTS")
    if allow_no_index:
        group.add_argument("--no-index", action="store_true",
                           help="stop after the archive (documents written to <archive>/docs), index nothing")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="newsflow: news feeds to a clean, "
                                     "enriched, searchable archive.")
    parser.add_argument("--version", action="version", version=f"newsflow pipeline {PIPELINE_VERSION}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("process", help="one page (.html, .htm, .txt or - for stdin) -> document JSON on stdout")
    p.add_argument("path", metavar="PATH", help="file to process, or - to read standard input")
    p.add_argument("--source", default=None, help="source id (picks the site profile and default language)")
    p.add_argument("--url", default=None, help="the page's URL (for the id, the site profile and relative links)")
    p.add_argument("--sources", metavar="FILE", help="sources file used to resolve --source")
    p.add_argument("--no-entities", action="store_true", help="skip named-entity recognition")
    p.add_argument("--compact", action="store_true", help="one-line JSON instead of indented")

    p = sub.add_parser("fetch", help="poll feeds and fetch new pages into the raw archive (no processing)")
    _add_sources_options(p)
    p.add_argument("--dry-run", action="store_true", help="read the feeds and print what would be fetched; "
                   "write nothing, fetch no page")
    p.add_argument("--refetch", action="store_true", help="fetch pages again even when already archived")
    p.add_argument("--max-pages", type=int, default=None, metavar="N", help="fetch at most N pages per source")

    p = sub.add_parser("ingest", help="one whole hourly run without Airflow: fetch, archive, process, index")
    _add_sources_options(p)
    _add_es_options(p, allow_no_index=True)
    p.add_argument("--max-pages", type=int, default=None, metavar="N", help="fetch at most N pages per source")
    p.add_argument("--dead-letter", metavar="PATH", help="dead-letter file (default: <archive>/dead-letter/…)")
    p.add_argument("--no-entities", action="store_true", help="skip named-entity recognition")

    p = sub.add_parser("es-setup", help="create or update the index template, index and aliases (idempotent)")
    _add_es_options(p, allow_no_index=False)

    p = sub.add_parser("reprocess", help="re-run processing over archived captures of a date range, and index")
    _add_range_options(p)
    _add_sources_options(p)
    _add_es_options(p, allow_no_index=True)
    p.add_argument("--target", choices=["live", "new-version"], default="live",
                   help="index into the live write alias, or into a new index version swapped in when done")
    p.add_argument("--dry-run", action="store_true", help="count what would be reprocessed, write nothing")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="NER processes (default: CPU count)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="documents per NER/bulk batch")
    p.add_argument("--no-entities", action="store_true", help="skip named-entity recognition")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")

    p = sub.add_parser("backfill", help="the news_backfill form on the command line: reprocess or refetch a range "
                       "of chosen sources; prints the plan first")
    _add_range_options(p)
    _add_sources_options(p)
    _add_es_options(p, allow_no_index=True)
    p.add_argument("--mode", choices=["reprocess", "refetch"], default="reprocess",
                   help="reprocess the archived captures, or refetch the pages known for the range")
    p.add_argument("--target", choices=["live", "new-version"], default="live",
                   help="index into the live write alias, or into a new index version swapped in when done")
    p.add_argument("--dry-run", action="store_true", help="print the plan; request nothing, write nothing")
    p.add_argument("--unit-days", type=int, default=None, metavar="N",
                   help="reprocess: consecutive days per unit (default $NEWSFLOW_BACKFILL_UNIT_DAYS or 7)")
    p.add_argument("--allow-long-range", action="store_true", help="accept a range over the maximum "
                   "($NEWSFLOW_BACKFILL_MAX_DAYS, default 31 days)")
    p.add_argument("--include-gone-refused", action="store_true", help="refetch: ask again for URLs known gone "
                   "(404/410), refused (robots, too large, not HTML, redirect off the domain) or off the domain")
    p.add_argument("--no-entities", action="store_true", help="skip named-entity recognition")

    p = sub.add_parser("reindex", help="build a new index version from the archive's documents, then swap aliases")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="only documents from this date")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="only documents up to this date")
    _add_sources_options(p)
    _add_es_options(p, allow_no_index=False)

    p = sub.add_parser("es-drop-index", help="delete an old index version (refuses one an alias points to)")
    p.add_argument("index", metavar="INDEX", help="e.g. news-articles-v1")
    _add_es_options(p, allow_no_index=False)

    p = sub.add_parser("replay-dead-letter", help="index again the documents of a dead-letter file")
    p.add_argument("path", metavar="PATH", help="dead-letter JSON Lines file")
    _add_es_options(p, allow_no_index=False)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose < 2:
        for noisy in ("elastic_transport", "httpx", "httpcore", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    module = importlib.import_module(COMMANDS[args.command])
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
