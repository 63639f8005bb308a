"""`python -m pipeline reprocess --from DATE --to DATE …`: the archive's captures of a range,
processed again with the current pipeline (the fast path of pipeline/flows/reprocess.py),
written to docs/ and indexed.

Dates: `YYYY-MM-DD` means the whole UTC day (so `--from 2024-01-01 --to 2024-01-31` is all of
January); an ISO datetime is taken as UTC unless it carries an offset, and `--to` is then
exclusive. The report is printed to stdout as JSON; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateRangeError(ValueError):
    """An unusable --from/--to (the message names the option and the value)."""


def parse_when(value: str, *, option: str, is_end: bool) -> datetime:
    """One bound: a date (start of that day, or of the next day for an end) or an ISO datetime."""
    text = (value or "").strip()
    if _DATE_ONLY.match(text):
        try:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:
            raise DateRangeError(f"{option} {value!r}: not a valid date ({exc})") from None
        return day + timedelta(days=1) if is_end else day
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise DateRangeError(f"{option} {value!r}: expected YYYY-MM-DD or an ISO datetime "
                             "such as 2024-01-31T12:00 or 2024-01-31T12:00+01:00") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_range(date_from: str, date_to: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC from the --from/--to strings; start must come before end."""
    start = parse_when(date_from, option="--from", is_end=False)
    end = parse_when(date_to, option="--to", is_end=True)
    if start >= end:
        raise DateRangeError(f"--from {date_from} is not before --to {date_to} "
                             f"(range {start.isoformat()} → {end.isoformat()} is empty)")
    return start, end


def _usage_error(message: str) -> int:
    print(f"reprocess: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from pipeline.settings import Settings

    try:
        start, end = parse_range(args.date_from, args.date_to)
    except DateRangeError as exc:
        return _usage_error(str(exc))
    if args.workers is not None and args.workers < 0:
        return _usage_error(f"--workers {args.workers}: must be 0 (in this process) or more")
    if args.batch_size is not None and args.batch_size < 1:
        return _usage_error(f"--batch-size {args.batch_size}: must be at least 1")

    from pipeline.flows import heap

    heap.keep_freed_memory()  # this process tags too when --workers 0 (pipeline/flows/heap.py)
    settings = Settings.from_env()
    from pipeline.sources import SourcesError, load_sources

    sources_file = args.sources or settings.sources_file
    try:
        config = load_sources(sources_file)
        selected = config.select(args.source_ids)
    except SourcesError as exc:
        return _usage_error(str(exc))
    except KeyError as exc:
        return _usage_error(f"--source: {exc.args[0]} in {sources_file}")
    except OSError as exc:
        return _usage_error(f"cannot read sources file {sources_file}: {exc}")
    source_ids = [s.id for s in selected]
    if not source_ids:
        return _usage_error(f"no source selected (none enabled in {sources_file})")

    from pipeline.archive import Archive, ArchiveError
    from pipeline.flows.reprocess import ReprocessError, reprocess

    archive = Archive(args.archive or settings.archive_root)
    es = None
    if not args.no_index and not args.dry_run:
        from pipeline.index.connection import EsConnectionError, connect

        try:
            es = connect(args.es_url or settings.es_url)
        except EsConnectionError as exc:
            print(f"reprocess: {exc}", file=sys.stderr)
            return 1
    elif args.target == "new-version" and not args.dry_run:
        return _usage_error("--target new-version needs an index (drop --no-index)")

    try:
        report = reprocess(
            archive, start=start, end=end, sources=source_ids, es=es, target=args.target,
            dry_run=args.dry_run, workers=args.workers, batch_size=args.batch_size,
            entities=not args.no_entities, progress=not args.no_progress,
            source_configs={s.id: s for s in selected},
        )
    except (ReprocessError, ArchiveError) as exc:
        print(f"reprocess: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))  # the summary line is logged
    if report.unreadable_files:
        print(f"reprocess: {len(report.unreadable_files)} WARC files could not be read (fully): "
              f"{report.unreadable_files[0]}", file=sys.stderr)
        return 1
    if report.failed:
        print(f"reprocess: {report.failed} documents failed to index, kept in {report.dead_letter_path}",
              file=sys.stderr)
        return 1
    return 0
