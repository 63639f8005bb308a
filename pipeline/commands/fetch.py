"""`python -m pipeline fetch`: poll the feeds and fetch new pages into the raw archive.

Exit codes: 0 every feed read, 3 degraded (some feeds failed or are quarantined: they are
listed), 1 no feed could be read, 2 unusable sources file or unknown source id (one line on
stderr). The same codes as `ingest` (pipeline.flows.report.EXIT_CODES).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from pipeline.acquire.run import FetchSummary, run_fetch
from pipeline.archive import Archive
from pipeline.flows.report import EXIT_CODES
from pipeline.settings import Settings
from pipeline.sources import SourcesError, load_sources


def _fate_cell(item: dict[str, Any]) -> str:
    extra = item.get("reason") or (f"of {item['duplicate_of']}" if item.get("duplicate_of") else "")
    return f"{item['fate']}{f' ({extra})' if extra else ''}"


def _print_ledger(source: str, ledger: dict[str, Any], *, items: bool, out: TextIO) -> None:
    """`rts: 16 items read = new 6, duplicate 1, …` and, for a dry run, one line per item."""
    fates = ", ".join(f"{fate} {n}" for fate, n in ledger["fates"].items() if n)
    print(f"{source}: {ledger['items_read']} items read = {fates or 'none'}", file=out)
    for name in ("refused", "failed"):
        if ledger.get(name):
            print(f"{source}: {name}: " + ", ".join(f"{r} {n}" for r, n in ledger[name].items()), file=out)
    if items:
        for item in ledger["items"]:
            print(f"  {_fate_cell(item):<40} {item.get('url') or item.get('guid') or item.get('title')}", file=out)


def _print_summary(s: FetchSummary) -> None:
    out = sys.stdout
    if s.dry_run:
        for source, urls in s.would_fetch.items():
            for feed_url, feed in s.per_source.get(source, {}).get("feeds", {}).items():
                detail = f"{feed['items']} items" if feed["status"] != "failed" else feed["reason"]
                print(f"{source}: feed {feed_url}: {feed['status']} ({detail})", file=out)
            print(f"{source}: would fetch {len(urls)} page(s); the fate each item would get:", file=out)
    for source, ledger in s.ledgers.items():
        _print_ledger(source, ledger, items=s.dry_run, out=out)
    print(f"run {s.run_id}{' (dry run: nothing written)' if s.dry_run else ''}", file=out)
    print(f"feeds: {s.feeds_fetched} fetched, {s.feeds_unchanged} unchanged, {s.feeds_failed} failed, "
          f"{s.feeds_quarantined} quarantined", file=out)
    print(f"items: {s.items_seen} seen, {s.items_new} new, {s.items_updated} updated, "
          f"{s.items_unchanged} unchanged, {s.items_retry} retried, {s.items_refetch} refetched", file=out)
    if not s.dry_run:
        skipped = ", ".join(f"{k} {v}" for k, v in s.pages_skipped.items()) or "none"
        failed = ", ".join(f"{k} {v}" for k, v in s.pages_failed.items()) or "none"
        print(f"pages: {s.pages_fetched} fetched; skipped: {skipped}; failed: {failed}", file=out)
        print(f"bytes: {s.bytes}; WARC files: {len(s.pages_warc_paths) + len(s.feed_warc_paths)}", file=out)
    for w in s.feed_warnings:
        print(f"feed malformed (items kept: {w['items']}): {w['source']} {w['feed_url']}: {w['error']}", file=out)
    for f in s.feed_failures:
        health = f.get("health") or {}
        if health.get("quarantined_until"):
            print(f"feed quarantined: {f['source']} {f['feed_url']}: {f['reason']} ({health['failures']} identical "
                  f"failures in a row); next retry {health['quarantined_until']}", file=out)
        else:
            print(f"feed failed: {f['source']} {f['feed_url']}: {f['reason']}: {f['error']}", file=out)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    path = args.sources or settings.sources_file
    try:
        config = load_sources(path)
        sources = config.select(args.source_ids)
    except SourcesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"error: {path}: {exc.args[0]}", file=sys.stderr)
        return 2
    if not sources:
        print(f"error: {path}: no enabled source", file=sys.stderr)
        return 2
    if args.max_pages is not None and args.max_pages < 0:
        print("error: --max-pages must be 0 or more", file=sys.stderr)
        return 2
    archive = Archive(args.archive or settings.archive_root)
    run_id = f"fetch-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    summary = run_fetch(config, archive=archive, run_id=run_id, source_ids=[s.id for s in sources],
                        dry_run=args.dry_run, refetch=args.refetch, max_pages=args.max_pages)
    _print_summary(summary)
    read = summary.feeds_fetched + summary.feeds_unchanged
    out_of_order = summary.feeds_failed + summary.feeds_quarantined
    if out_of_order and not read:
        return EXIT_CODES["failed"]
    return EXIT_CODES["degraded"] if out_of_order else EXIT_CODES["ok"]
