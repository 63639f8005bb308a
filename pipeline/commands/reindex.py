"""`python -m pipeline reindex [--from DATE] [--to DATE] [--source ID …] [--archive URL]`:
build the next index version from the archive's processed documents, check its count, swap
both aliases atomically; the old version is kept (drop it with `es-drop-index`).

Without --from, the archive's first day; without --to, now — and then a catch-up pass
re-reads the documents fetched since the fill began (ingest runs that wrote to the old version
meanwhile) into the new one before the count check, and once more after the swap for the
last moments; unchanged ones cost one mget.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from pipeline.archive import Archive, ArchiveError
from pipeline.commands.reprocess import DateRangeError, parse_when
from pipeline.index.bulk import IndexCounts, IndexingError, index_documents
from pipeline.index.cli_support import error, run_with_es
from pipeline.index.connection import WRITE_ALIAS
from pipeline.index.dead_letter import default_dead_letter_path
from pipeline.index.reindex import check_version, create_version, live_index, swap_aliases
from pipeline.settings import Settings

log = logging.getLogger(__name__)

CATCH_UP_MARGIN = timedelta(hours=1)


def first_document_day(archive: Archive) -> datetime | None:
    """The earliest `docs/<source>/YYYY/MM/DD` directory of the archive (UTC midnight)."""
    earliest: datetime | None = None
    for source in archive.sources("docs"):
        path = f"{archive.root}/docs/{source}"
        parts: list[str] = []
        for _ in range(3):  # year, month, day: the smallest name at each level
            try:
                names = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in archive.fs.ls(path, detail=False))
            except FileNotFoundError:
                names = []
            names = [n for n in names if n.isdigit()]
            if not names:
                break
            parts.append(names[0])
            path = f"{path}/{names[0]}"
        if len(parts) == 3:
            day = datetime(int(parts[0]), int(parts[1]), int(parts[2]), tzinfo=UTC)
            earliest = day if earliest is None or day < earliest else earliest
    return earliest


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    now = datetime.now(UTC)
    try:
        start = parse_when(args.date_from, option="--from", is_end=False) if args.date_from else None
        end = parse_when(args.date_to, option="--to", is_end=True) if args.date_to else None
    except DateRangeError as exc:
        error(str(exc))
        return 2
    archive_root = args.archive or settings.archive_root
    archive = Archive(archive_root)
    if start is None:
        start = first_document_day(archive) or now
    open_end = end is None
    end = end or now + CATCH_UP_MARGIN
    if start >= end:
        error(f"--from {start.isoformat()} is not before --to {end.isoformat()}")
        return 2
    sources = args.source_ids or None
    dead_letter = default_dead_letter_path(archive_root, "reindex")

    def body(es: Elasticsearch) -> int:
        old = live_index(es)
        new = create_version(es)
        print(f"filling {new} from {archive.url} documents fetched {start.isoformat()} → {end.isoformat()}"
              + (f" (sources {', '.join(sources)})" if sources else ""))
        fill_started = datetime.now(UTC)
        try:
            counts = index_documents(es, archive.iter_documents(start=start, end=end, sources=sources),
                                     index=new, dead_letter_path=dead_letter)
        except (IndexingError, ArchiveError) as exc:
            error(f"filling {new} failed: {exc}; aliases not swapped, {new} kept "
                  f"(drop it with `python -m pipeline es-drop-index {new}`)")
            return 1
        print(f"{new}: {counts}" + (f" (dead letters: {dead_letter})" if counts.failed else ""))
        catch_up_start = max(start, fill_started - CATCH_UP_MARGIN)

        def catch_up(into: str) -> IndexCounts:
            """What the archive holds since `catch_up_start`, indexed into `into`."""
            return index_documents(
                es, archive.iter_documents(start=catch_up_start, end=datetime.now(UTC) + CATCH_UP_MARGIN,
                                           sources=sources),
                index=into, dead_letter_path=dead_letter)

        if open_end:
            # ingest runs keep writing to the live version during a long fill: take what they
            # archived meanwhile before comparing counts, or the check would refuse the swap
            try:
                before = catch_up(new)
            except (IndexingError, ArchiveError) as exc:
                error(f"catch-up into {new} failed: {exc}; aliases not swapped, {new} kept "
                      f"(drop it with `python -m pipeline es-drop-index {new}`)")
                return 1
            print(f"{new}: catch-up before the swap since {catch_up_start.isoformat()}: {before}")
            counts.add(before)
        check = check_version(es, new, expected=counts.created)
        if not check.ok:
            error(f"not swapped: {check.describe()}; {new} kept for inspection "
                  f"(drop it with `python -m pipeline es-drop-index {new}`)")
            return 1
        swap_aliases(es, new)
        print(f"aliases swapped: {check.describe()}")
        if open_end:  # what was written to the old version between the catch-up and the swap
            try:
                extra = catch_up(WRITE_ALIAS)
            except (IndexingError, ArchiveError) as exc:
                error(f"catch-up after the swap failed: {exc}; run `python -m pipeline reindex` again "
                      "or the next ingest")
                return 1
            print(f"catch-up since {catch_up_start.isoformat()}: {extra}")
            counts.add(extra)
        if old and old != new:
            print(f"{old} kept; delete it when satisfied: python -m pipeline es-drop-index {old}")
        return 1 if counts.failed else 0

    return run_with_es(args, body)
