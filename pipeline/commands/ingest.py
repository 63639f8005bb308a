"""`python -m pipeline ingest`: one whole hourly run without Airflow (the `news_ingest` chain).

Fetch the feeds, archive every response, fetch the new pages, process them into documents
written to the archive, index them (unless there is no Elasticsearch, in which case they wait
in the archive for the next run), and print the report. Exit 0 when all went well, 3 when
some sources are degraded (a feed failed or is quarantined: the report names them, the rest of
the run went through), 1 when the run itself failed (the report names why), 2 for unusable
input (sources file, source id).
"""

from __future__ import annotations

import argparse
import logging
import sys

from pipeline.flows.ingest import IngestConfig, IngestError, run_ingest

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    cfg = IngestConfig.resolve(sources_file=args.sources, archive_root=args.archive,
                               es_url=args.es_url, no_index=args.no_index)
    if cfg.es_url is None:
        print(f"no Elasticsearch configured ({'--no-index' if args.no_index else 'no --es-url, no ES_URL'}): "
              f"this run stops after the archive ({cfg.archive_root}); a later `ingest` or `reprocess` "
              "with Elasticsearch indexes the documents.", file=sys.stderr)
    try:
        report = run_ingest(sources_file=cfg.sources_file, archive_root=cfg.archive_root, es_url=cfg.es_url,
                            no_index=cfg.es_url is None, source_ids=args.source_ids, max_pages=args.max_pages,
                            dead_letter_path=args.dead_letter, entities=not args.no_entities)
    except IngestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    return report.exit_code
