"""Analyst backfills: validate the request, split it into units, run one unit.

Validation and splitting are pure functions (the `news_backfill` DAG's Params form is checked
with them, and their messages are what the analyst reads). A unit either

- **reprocesses** the archived page captures of a chunk of consecutive UTC days (env
  NEWSFLOW_BACKFILL_UNIT_DAYS, default 7) for every source of the request with the current
  pipeline (`pipeline.flows.reprocess.reprocess`, the fast path). Each unit loads the NER
  models once (2–4 s of CPU), while one day of one source is only a few seconds of NER: units
  of several days and all sources spend their time tagging, not loading; or
- **refetches** the pages known for one day of one source — URLs from the archive's seen
  ledger and from the source's sitemaps — asking only for what is needed (the plan,
  pipeline/flows/refetch_plan.py: pages never archived plainly, archived ones conditionally so
  an unchanged page costs a 304, nothing known gone, refused or off the domain unless
  `include_gone_refused`), through acquisition (polite, archived), then processes and indexes
  the pages that came back with a body like an ingest run.

Both are idempotent: document ids are stable and unchanged documents are not rewritten, so a
second run says `unchanged`. Target `new-version`: `prepare_target` creates a new index version
before the units, every unit writes into it, `finish_target` checks its count and swaps the
aliases (the old index stays until `es-drop-index`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.archive import Archive
from pipeline.archive import layout as archive_layout
from pipeline.flows.refetch_plan import RefetchPlan, plan_refetch
from pipeline.settings import env_int

if TYPE_CHECKING:
    from pipeline.sources import SourcesConfig

log = logging.getLogger(__name__)

MODES = ("reprocess", "refetch")
TARGETS = ("live", "new-version")
DEFAULT_MAX_DAYS = 31
UNIT_DAYS_ENV = "NEWSFLOW_BACKFILL_UNIT_DAYS"
DEFAULT_UNIT_DAYS = 7
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BackfillError(ValueError):
    """The backfill request cannot run. `str()` lists every problem, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid backfill request:\n- " + "\n- ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class BackfillRequest:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    sources: tuple[str, ...]
    mode: str = "reprocess"
    target: str = "live"
    dry_run: bool = False

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "sources": list(self.sources),
                "mode": self.mode, "target": self.target, "dry_run": self.dry_run}


def parse_when(value: Any, *, field: str, is_end: bool = False) -> datetime:
    """`YYYY-MM-DD` (a whole day: the start of it, or for the end the start of the next day) or
    an ISO datetime (UTC unless it carries an offset; an end datetime is exclusive)."""
    if isinstance(value, datetime):
        return archive_layout.to_utc(value)
    if isinstance(value, date):
        d = value
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError(f"{field}: required (YYYY-MM-DD or an ISO datetime such as 2026-01-31T12:00Z)")
        if _DATE_RE.match(text):
            try:
                d = date.fromisoformat(text)
            except ValueError as exc:
                raise ValueError(f"{field}: {text!r} is not a date ({exc})") from None
        else:
            try:
                return archive_layout.to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
            except ValueError:
                raise ValueError(f"{field}: {text!r} is neither a date (YYYY-MM-DD) nor an ISO datetime "
                                 "(YYYY-MM-DDTHH:MM[:SS][+HH:MM])") from None
    start = datetime.combine(d, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if is_end else start


def _end_of_day(now: datetime) -> datetime:
    """Midnight (UTC) after `now`: a backfill may end today, not later."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)


def validate_request(params: Mapping[str, Any], *, known_sources: Sequence[str], enabled_sources: Sequence[str] = (),
                     max_days: int = DEFAULT_MAX_DAYS, now: datetime | None = None) -> BackfillRequest:
    """Check a backfill form. Raises BackfillError listing every problem, in the form's terms.

    params: start, end, sources (list; empty = every enabled source), mode, target, dry_run,
    allow_long_range (bool: accept a range over `max_days`).
    """
    problems: list[str] = []
    start = end = None
    try:
        start = parse_when(params.get("start"), field="start")
    except ValueError as exc:
        problems.append(str(exc))
    try:
        end = parse_when(params.get("end"), field="end", is_end=True)
    except ValueError as exc:
        problems.append(str(exc))
    if start is not None and end is not None:
        now = now or datetime.now(UTC)
        end_is_date = bool(_DATE_RE.match(str(params.get("end") or "").strip()))
        if start > end or (start == end and end_is_date):  # a date end is the whole day: start the day after
            problems.append(f"start: {params.get('start')} is after end ({params.get('end')}): swap them")
        elif start == end:
            problems.append(f"end: the range {start.isoformat()} → {end.isoformat()} is empty (an end datetime "
                            "is exclusive; give a date, YYYY-MM-DD, for a whole day)")
        elif (end - start) > timedelta(days=max_days) and not params.get("allow_long_range"):
            problems.append(f"end: the range covers {(end - start).total_seconds() / 86400:g} days, over the maximum "
                            f"of {max_days}; tick allow_long_range to run it anyway, or split it")
        if start > now:
            problems.append(f"start: {start.isoformat()} is in the future: nothing is archived yet")
        elif end > _end_of_day(now):
            problems.append(f"end: {end.isoformat()} is in the future (today ends {_end_of_day(now).isoformat()}): "
                            "nothing is archived there yet; end today at the latest")
    unit_days = params.get("unit_days")
    if unit_days is not None and (isinstance(unit_days, bool) or not isinstance(unit_days, int) or unit_days < 1):
        problems.append(f"unit_days: {unit_days!r} is not a whole number of days ≥ 1")
    raw_sources = params.get("sources") or []
    if isinstance(raw_sources, str):
        raw_sources = [s.strip() for s in raw_sources.split(",") if s.strip()]
    unknown = [s for s in raw_sources if s not in known_sources]
    if unknown:
        problems.append(f"sources: unknown source{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                        f"(configured: {', '.join(known_sources) or 'none'})")
    sources = tuple(dict.fromkeys(raw_sources)) or tuple(enabled_sources or known_sources)
    if not sources:
        problems.append("sources: no source to backfill (none given and none enabled in the sources file)")
    mode = str(params.get("mode") or "reprocess")
    if mode not in MODES:
        problems.append(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    target = str(params.get("target") or "live")
    if target not in TARGETS:
        problems.append(f"target: {target!r} is not one of {', '.join(TARGETS)}")
    if problems:
        raise BackfillError(problems)
    assert start is not None and end is not None
    return BackfillRequest(start=start, end=end, sources=sources, mode=mode, target=target,
                           dry_run=bool(params.get("dry_run")))


def unit_days_from_env(environ: Mapping[str, str] | None = None) -> int:
    """Days per reprocess unit: env NEWSFLOW_BACKFILL_UNIT_DAYS (an integer ≥ 1), default 7.
    Raises ValueError naming the variable for any other value."""
    return env_int(UNIT_DAYS_ENV, DEFAULT_UNIT_DAYS, minimum=1, environ=environ,
                   expected=f"a whole number of days ≥ 1 per reprocess unit (default {DEFAULT_UNIT_DAYS})")


def _utc_days(start: datetime, end: datetime) -> list[datetime]:
    """Midnight (UTC) of every day that [start, end) touches."""
    days: list[datetime] = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        days.append(day)
        day += timedelta(days=1)
    return days


def _clip(request: BackfillRequest, first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """[first day 00:00, day after last 00:00) clipped to the request's range."""
    return max(first, request.start), min(last + timedelta(days=1), request.end)


def _day_unit(request: BackfillRequest, day: datetime, source: str) -> dict[str, Any]:
    lo, hi = _clip(request, day, day)
    return {"source": source, "day": f"{day:%Y-%m-%d}", "start": lo.isoformat(), "end": hi.isoformat()}


def _chunk_unit(request: BackfillRequest, days: Sequence[datetime]) -> dict[str, Any]:
    lo, hi = _clip(request, days[0], days[-1])
    return {"sources": list(request.sources), "first_day": f"{days[0]:%Y-%m-%d}",
            "last_day": f"{days[-1]:%Y-%m-%d}", "start": lo.isoformat(), "end": hi.isoformat()}


def split_units(request: BackfillRequest, *, unit_days: int = DEFAULT_UNIT_DAYS) -> list[dict[str, Any]]:
    """The units of a request, the first and last clipped to its range.

    - reprocess: one unit per `unit_days` consecutive UTC days (from the range's first day), all
      sources at once — `{"sources", "first_day", "last_day", "start", "end"}`;
    - refetch: one unit per (UTC day, source) — `{"source", "day", "start", "end"}` (each fetches
      politely from one site).
    """
    if unit_days < 1:
        raise ValueError(f"unit_days must be at least 1, not {unit_days}")
    days = _utc_days(request.start, request.end)
    if request.mode == "refetch":
        return [_day_unit(request, day, src) for day in days for src in request.sources]
    return [_chunk_unit(request, days[i:i + unit_days]) for i in range(0, len(days), unit_days)]


def unit_label(unit: Mapping[str, Any]) -> str:
    """What a unit covers, e.g. `rts,srf 2026-01-01..2026-01-07` or `rts 2026-01-01` (logs; the
    DAG's map_index_template renders the same text)."""
    if "sources" not in unit:
        return f"{unit['source']} {unit['day']}"
    days = unit["first_day"] if unit["first_day"] == unit["last_day"] else f"{unit['first_day']}..{unit['last_day']}"
    return f"{','.join(unit['sources'])} {days}"


def unit_totals(results: Sequence[Mapping[str, Any] | None]) -> dict[str, int]:
    """Sum of the units' counts (`indexed` counts as `indexed_<key>`); missing results are skipped."""
    totals: dict[str, int] = {}
    for r in results:
        if not r:
            continue
        for key in ("captures", "documents", "errors", "urls", "pages_fetched", "pages_not_modified"):
            totals[key] = totals.get(key, 0) + int(r.get(key) or 0)
        plan = r.get("plan") or {}
        for key in ("fetch", "revalidate"):
            if key in plan:
                totals[f"plan_{key}"] = totals.get(f"plan_{key}", 0) + int(plan[key])
        for reason, n in (plan.get("skipped") or {}).items():
            totals[f"skipped_{reason}"] = totals.get(f"skipped_{reason}", 0) + int(n)
        for key, value in (r.get("indexed") or {}).items():
            totals[f"indexed_{key}"] = totals.get(f"indexed_{key}", 0) + int(value)
    return totals


def request_from_dict(data: Mapping[str, Any]) -> BackfillRequest:
    return BackfillRequest(start=datetime.fromisoformat(data["start"]), end=datetime.fromisoformat(data["end"]),
                           sources=tuple(data["sources"]), mode=data["mode"], target=data["target"],
                           dry_run=bool(data["dry_run"]))


# --------------------------------------------------------------------------- target index
def prepare_target(es_url: str | None, *, target: str, dry_run: bool) -> dict[str, Any]:
    """The index the units write to: the write alias, or a new version created now."""
    from pipeline.index.connection import WRITE_ALIAS

    if not es_url:
        return {"index": None, "new_version": False, "reason": "no Elasticsearch configured: documents are "
                "written to the archive only"}
    if target != "new-version" or dry_run:
        return {"index": WRITE_ALIAS, "new_version": False}
    from pipeline.index.connection import connect
    from pipeline.index.reindex import create_version
    from pipeline.index.setup import ensure_indices

    es = connect(es_url)
    ensure_indices(es)
    name = create_version(es)
    log.info("backfill target: new index version %s", name)
    return {"index": name, "new_version": True}


def finish_target(es_url: str | None, target: Mapping[str, Any], *, documents: int) -> dict[str, Any]:
    """For a new version: refresh, check it (not empty when documents were written, and at least
    as many documents as the live index, so a partial range never hides articles from search),
    then swap the aliases."""
    if not target.get("new_version") or not es_url:
        return {"swapped": False}
    from pipeline.index.connection import connect
    from pipeline.index.reindex import check_version, swap_aliases

    es = connect(es_url)
    name = str(target["index"])
    es.indices.refresh(index=name)
    check = check_version(es, name, expected=1 if documents else 0)
    if not check.ok:
        raise RuntimeError(f"{check.describe()}: aliases not swapped (backfill the whole archive into a new "
                           "version, or use target live)")
    swap_aliases(es, name)
    log.info("aliases now point to %s (%d documents)", name, check.count)
    return {"swapped": True, "index": name, "count": check.count}


# --------------------------------------------------------------------------- units
def run_unit(unit: Mapping[str, Any], request: BackfillRequest, *, sources_file: str, archive_root: str,
             es_url: str | None, index_name: str | None, run_id: str, entities: bool = True,
             workers: int = 0, dead_letter_path: str | None = None,
             include_gone_refused: bool = False, plan: RefetchPlan | None = None) -> dict[str, Any]:
    """Run one unit (see `split_units`); returns its counts (JSON-able). Refetch only:
    `include_gone_refused` also asks again for URLs known gone, refused or off the domain;
    `plan` is the unit's plan when it was made already (`plan_units`)."""
    if request.mode == "refetch":
        return refetch_unit(unit, sources_file=sources_file, archive_root=archive_root, es_url=es_url,
                            index_name=index_name, run_id=run_id, dry_run=request.dry_run, entities=entities,
                            dead_letter_path=dead_letter_path, include_gone_refused=include_gone_refused,
                            plan=plan)
    return reprocess_unit(unit, sources_file=sources_file, archive_root=archive_root, es_url=es_url,
                          index_name=index_name, run_id=run_id, dry_run=request.dry_run, entities=entities,
                          workers=workers, dead_letter_path=dead_letter_path)


def reprocess_unit(unit: Mapping[str, Any], *, sources_file: str, archive_root: str, es_url: str | None,
                   index_name: str | None, run_id: str, dry_run: bool, entities: bool = True, workers: int = 0,
                   dead_letter_path: str | None = None) -> dict[str, Any]:
    """Reprocess the captures of a unit's range for all its sources in one call (one model load)."""
    from pipeline.flows.ingest import load_config
    from pipeline.flows.reprocess import reprocess

    config = load_config(sources_file)
    es = None
    if es_url and index_name and not dry_run:
        from pipeline.index.connection import connect

        es = connect(es_url)
    sources, first_day, last_day = _reprocess_scope(unit)
    report = reprocess(Archive(archive_root), start=datetime.fromisoformat(unit["start"]),
                       end=datetime.fromisoformat(unit["end"]), sources=sources, es=es, index=index_name,
                       target="live", dry_run=dry_run, workers=workers, entities=entities, progress=False,
                       run_id=run_id, dead_letter_path=dead_letter_path,
                       source_configs={s.id: s for s in config.sources})
    log.info("%s: %s", unit_label(unit), report.summary())
    return {"sources": sources, "first_day": first_day, "last_day": last_day,
            "mode": "reprocess", "dry_run": dry_run,
            "captures": report.captures, "skipped": dict(report.skipped), "by_source": dict(report.by_source),
            "documents": report.documents,
            "errors": report.errors, "indexed": dict(report.indexed), "ner_processes": report.workers}


def _reprocess_scope(unit: Mapping[str, Any]) -> tuple[list[str], str, str]:
    """(sources, first day, last day) of a reprocess unit. Units planned before reprocess units
    became multi-day chunks of all sources were one source and one day (`source`, `day`, as
    refetch units still are): a run of that time, retried after an upgrade, still runs."""
    if "sources" in unit:
        return [str(s) for s in unit["sources"]], str(unit["first_day"]), str(unit["last_day"])
    return [str(unit["source"])], str(unit["day"]), str(unit["day"])


def refetch_candidates(archive: Archive, config: SourcesConfig, source_id: str, start: datetime, end: datetime,
                       *, run_id: str, use_sitemaps: bool = True, write: bool = True) -> dict[str, datetime | None]:
    """URLs of a source for [start, end) → their sitemap `lastmod` (None when unknown): the seen
    ledger's, plus its sitemaps' (fetched politely; archived unless `write` is false). Nothing
    is filtered here: `refetch_plan.plan_refetch` decides, and says why."""
    urls: dict[str, datetime | None] = dict.fromkeys(archive.seen(source_id).urls_between(start, end))
    source = config.get(source_id)
    if use_sitemaps and source.sitemaps:
        from pipeline.acquire.http import PoliteClient
        from pipeline.acquire.sitemaps import list_sitemap_urls

        client = PoliteClient(config)
        try:
            def fetch(url: str) -> bytes:
                http = client.get(url, kind="sitemap", source=source.id, politeness=source.politeness,
                                  max_bytes=config.max_feed_bytes)
                if http.captures and write:
                    archive.write_captures(http.captures, run_id=run_id)
                if http.error is not None:
                    raise RuntimeError(f"sitemap {url}: {http.error}")
                return http.body

            listing = list_sitemap_urls(fetch, source.sitemaps, start=start, end=end)
        finally:
            client.close()
        for error in listing.errors:
            log.warning("%s sitemaps: %s", source_id, error)
        for entry in listing.urls:
            if urls.get(entry.loc) is None:
                urls[entry.loc] = entry.lastmod
    return urls


def plan_unit(unit: Mapping[str, Any], *, config: SourcesConfig, archive: Archive, run_id: str,
              include_gone_refused: bool = False, write: bool = True) -> RefetchPlan:
    """The plan of one refetch unit (pipeline/flows/refetch_plan.py): what it will ask for, and why not the rest."""
    start, end = datetime.fromisoformat(unit["start"]), datetime.fromisoformat(unit["end"])
    candidates = refetch_candidates(archive, config, unit["source"], start, end, run_id=run_id, write=write)
    return plan_refetch(config.get(unit["source"]), archive.seen(unit["source"]), candidates, day=unit["day"],
                        include_gone_refused=include_gone_refused)


def plan_units(units: Sequence[Mapping[str, Any]], *, config: SourcesConfig, archive: Archive, run_id: str,
               include_gone_refused: bool = False, write: bool = True) -> list[RefetchPlan]:
    """The plan of every refetch unit, before any of them runs (the sitemaps' responses are
    archived unless `write` is false: a dry run)."""
    return [plan_unit(unit, config=config, archive=archive, run_id=run_id,
                      include_gone_refused=include_gone_refused, write=write) for unit in units]


def save_plans(archive: Archive, run_id: str, plans: Sequence[RefetchPlan], *, now: datetime | None = None) -> dict[str, str]:
    """Write each unit's plan among the run's work files
    (`work/<date>/<run>/backfill-plans/<source>-<day>.json`, removed after 2 days like the others);
    returns `{"<source> <day>": path}`. The units of a DAG run read them there (`load_plan`) and run
    the plans its first task logged, without listing the sitemaps again; XCom carries the paths."""
    import json

    folder = (f"work/{(now or datetime.now(UTC)):%Y-%m-%d}/{archive_layout.safe_component(run_id, what='run id')}/"
              "backfill-plans")
    paths: dict[str, str] = {}
    for plan in plans:
        rel = f"{folder}/{archive_layout.safe_component(plan.source, what='source')}-{plan.day}.json"
        paths[f"{plan.source} {plan.day}"] = archive.write_bytes(rel, json.dumps(plan.to_dict()).encode())
    return paths


def load_plan(archive: Archive, paths: Mapping[str, str], unit: Mapping[str, Any]) -> RefetchPlan | None:
    """The saved plan of a refetch unit; None for a reprocess unit, a run planned without saving,
    or a plan file already cleaned up (a unit retried days later): the unit then plans again."""
    import json

    path = paths.get(f"{unit.get('source')} {unit.get('day')}")
    if not path:
        return None
    if not archive.exists(path):
        log.warning("the plan of %s %s is gone (%s): planning again", unit.get("source"), unit.get("day"), path)
        return None
    return RefetchPlan.from_dict(json.loads(archive.read_bytes(path)))


def describe_plan(request: BackfillRequest, units: Sequence[Mapping[str, Any]],
                  plans: Sequence[RefetchPlan] = ()) -> list[str]:
    """The lines shown before a backfill runs (the `backfill` command prints them, the DAG's first
    task logs them): the request, its units and, for a refetch, each unit's plan and the totals."""
    lines = [f"backfill {request.start.isoformat()} → {request.end.isoformat()}, {', '.join(request.sources)}, "
             f"mode {request.mode}, target {request.target}{' (dry run)' if request.dry_run else ''}: "
             f"{len(units)} unit(s)"]
    if request.mode != "refetch":
        return lines + [f"  unit {unit_label(unit)}" for unit in units]
    fetch = revalidate = 0
    skipped: dict[str, int] = {}
    for plan in plans:
        lines.append(f"  plan {plan.describe()}")
        counts = plan.counts()
        fetch, revalidate = fetch + counts["fetch"], revalidate + counts["revalidate"]
        for reason, n in counts["skipped"].items():
            skipped[reason] = skipped.get(reason, 0) + n
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(skipped.items()))
    lines.append(f"plan: {fetch} page(s) to fetch, {revalidate} to revalidate (conditional), "
                 f"{sum(skipped.values())} skipped{': ' + reasons if reasons else ''}")
    return lines


def refetch_items(archive: Archive, source_id: str, urls: list[str], day_start: datetime) -> list[Any]:
    """The URLs of a refetch as feed items that keep what the seen ledger knows of them (guid,
    title, publication dates). Without it the refetch's ledger entries had no publication date,
    so a page moved to the day of its refetch, and a backfill's next day unit fetched it again.
    A URL the ledger does not know (from a sitemap) is dated at the start of the day it was
    found for."""
    from pipeline.acquire.feeds import FeedItem

    seen = archive.seen(source_id)
    items = []
    for url in urls:
        entry = seen.get(url)
        if entry is None:
            items.append(FeedItem(guid=url, link=url, published=day_start))
        else:
            items.append(FeedItem(guid=entry.guid or url, link=url, title=entry.title or "",
                                  published=entry.published or entry.fetched_at, updated=entry.updated))
    return items


def refetch_unit(unit: Mapping[str, Any], *, sources_file: str, archive_root: str, es_url: str | None,
                 index_name: str | None, run_id: str, dry_run: bool, entities: bool = True,
                 dead_letter_path: str | None = None, include_gone_refused: bool = False,
                 plan: RefetchPlan | None = None) -> dict[str, Any]:
    """Fetch again what the plan of one (day, source) asks for (`plan`, or made now) — unknown pages plainly, archived
    ones conditionally, nothing known gone, refused or off the domain unless `include_gone_refused` —
    then process and index the pages that came back with a body. A dry run is the plan alone."""
    from pipeline.acquire import run as acquire
    from pipeline.flows import ingest

    config = ingest.load_config(sources_file)
    archive = Archive(archive_root)
    start = datetime.fromisoformat(unit["start"])
    if plan is None:
        plan = plan_unit(unit, config=config, archive=archive, run_id=run_id,
                         include_gone_refused=include_gone_refused, write=not dry_run)
    log.info("plan: %s", plan.describe())
    counts = plan.counts()
    out: dict[str, Any] = {"source": unit["source"], "day": unit["day"], "mode": "refetch", "dry_run": dry_run,
                           "urls": len(plan.fetch) + len(plan.revalidate) + sum(counts["skipped"].values()),
                           "plan": counts}
    if dry_run:
        return out
    items = refetch_items(archive, unit["source"], [*plan.fetch, *plan.revalidate], start)
    pages = acquire.fetch_pages(config.get(unit["source"]), items, config=config, archive=archive, run_id=run_id,
                                conditional=plan.revalidate)
    processed = ingest.process(sources_file=sources_file, archive_root=archive_root, run_id=run_id,
                               warc_paths=pages.warc_paths, entities=entities)
    out.update(pages_fetched=pages.fetched, pages_not_modified=pages.not_modified, pages_failed=dict(pages.failed),
               documents=processed["documents"])
    if es_url and index_name and processed["pending_marker"]:
        indexed = ingest.index(archive_root=archive_root, es_url=es_url, run_id=run_id,
                               dead_letter_path=dead_letter_path, index_name=index_name,
                               markers=[processed["pending_marker"]])
        out["indexed"] = indexed["totals"]
    log.info("%s %s: %d pages fetched, %d not modified (304), %d documents", unit["source"], unit["day"],
             pages.fetched, pages.not_modified, processed["documents"])
    return out


# --------------------------------------------------------------------------- maintenance
def reindex_from_archive(es_url: str, archive_root: str, *, start: datetime, end: datetime,
                         sources: Sequence[str] | None, run_id: str, dead_letter_path: str | None = None,
                         swap: bool = True) -> dict[str, Any]:
    """Build a new index version from the archive's documents of [start, end), check its count,
    then swap the aliases to it (zero downtime: searches use the old index until the swap)."""
    from pipeline.flows.ingest import default_dead_letter
    from pipeline.index.bulk import IndexCounts, index_documents
    from pipeline.index.connection import connect
    from pipeline.index.reindex import check_version, create_version, swap_aliases
    from pipeline.index.setup import ensure_indices

    es = connect(es_url)
    ensure_indices(es)
    name = create_version(es)
    archive = Archive(archive_root)
    dead = dead_letter_path or default_dead_letter(archive_root, run_id)
    counts = IndexCounts()
    batch: list[Any] = []
    ids: set[str] = set()
    for doc in archive.iter_documents(start=start, end=end, sources=list(sources) if sources else None):
        batch.append(doc)
        ids.add(doc.id)
        if len(batch) >= 500:
            counts.add(index_documents(es, batch, index=name, dead_letter_path=dead, run_id=run_id))
            log.info("reindex into %s: %d documents so far", name, counts.total)
            batch = []
    if batch:
        counts.add(index_documents(es, batch, index=name, dead_letter_path=dead, run_id=run_id))
    expected = len(ids) - counts.failed
    check = check_version(es, name, expected=expected)
    if not check.ok:
        raise RuntimeError(f"new index {name}: {check.describe()}; aliases not swapped")
    if swap:
        swap_aliases(es, name)
    log.info("reindexed %d documents into %s%s", len(ids), name, ", aliases swapped" if swap else "")
    return {"index": name, "documents": len(ids), "counts": counts.to_dict(), "swapped": swap,
            "dead_letter_path": dead if counts.failed else None}


def replay_dead_letters(es_url: str, paths: Sequence[str], *, run_id: str) -> dict[str, Any]:
    """Index again the documents of dead-letter files (after a fix); what fails again goes to
    `<file>.replay-<run>.jsonl` next to each. Idempotent: a second replay counts `unchanged`."""
    from pathlib import Path

    from pipeline.index.bulk import index_documents
    from pipeline.index.connection import WRITE_ALIAS, connect
    from pipeline.index.dead_letter import read_dead_letters

    es = connect(es_url)
    out: dict[str, Any] = {}
    for path in paths:
        p = Path(path)
        documents = [letter.document for letter in read_dead_letters(p)]
        again = p.with_name(f"{p.stem}.replay-{archive_layout.safe_component(run_id, what='run id')}.jsonl")
        counts = index_documents(es, documents, index=WRITE_ALIAS, dead_letter_path=again, run_id=run_id)
        out[str(p)] = {**counts.to_dict(), "failed_again_path": str(again) if counts.failed else None}
        log.info("replayed %d documents of %s: %s", len(documents), p, counts)
    return out


def dead_letter_files(archive_root: str) -> list[str]:
    """Dead-letter files of the local archive (not the `.replay-` files a replay writes)."""
    from pathlib import Path

    from pipeline.flows.ingest import default_dead_letter

    folder = Path(default_dead_letter(archive_root, "x")).parent
    return sorted(str(p) for p in folder.glob("*.jsonl") if ".replay-" not in p.name) if folder.is_dir() else []


def check_trigger(conf: Mapping[str, Any], *, sources_file: str, max_days: int,
                  now: datetime | None = None) -> list[str]:
    """The problems of a `news_backfill` trigger request (empty: it may run), each naming its
    field first. What the API server's form guard answers before a run is created; the DAG's
    `validate` task applies the same `validate_request` again (a run created some other way)."""
    from pipeline.sources import SourcesError, load_sources

    try:
        config = load_sources(sources_file)
    except SourcesError as exc:
        return [f"sources: the sources file cannot be read ({exc})"]
    try:
        validate_request(conf, known_sources=[s.id for s in config.sources],
                         enabled_sources=[s.id for s in config.enabled()], max_days=max_days, now=now)
    except BackfillError as exc:
        return exc.problems
    return []
