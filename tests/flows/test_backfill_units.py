"""news_backfill's reprocess units: a unit of several days and sources reprocesses every capture
of its range once, in one `reprocess` call (one model load), and a second backfill says
`unchanged`."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.archive import Archive
from pipeline.flows import backfill
from pipeline.flows import reprocess as reprocess_module
from pipeline.index.connection import READ_ALIAS, WRITE_ALIAS, connect
from pipeline.models import Capture
from pipeline.settings import DEFAULT_SOURCES_FILE
from pipeline.urls import document_id
from tests.flows.conftest import ARTICLE_DE, ARTICLES_FR, page_html
from tests.search_target import SearchTarget

DAY0 = datetime(2022, 2, 1, tzinfo=UTC)
START = DAY0 + timedelta(hours=6)  # a partial first day
END = DAY0 + timedelta(days=5)  # five days: units of 2, 2 and 1 day with unit_days=2
SOURCES = ("rts", "srf")


def _page(source: str, when: datetime, n: int) -> Capture:
    if source == "srf":
        url, (title, lead, paras), lang = f"https://www.srf.ch/news/{n}", ARTICLE_DE, "de"
    else:
        url, (title, lead, paras), lang = f"https://www.{source}.ch/info/{n}.html", ARTICLES_FR[n % 3], "fr"
    return Capture(url=url, fetched_at=when, status=200, kind="page", source=source,
                   body=page_html(f"{title} {n}", lead, paras, lang=lang, published=when.isoformat()),
                   response_headers=(("Content-Type", "text/html; charset=utf-8"),))


def _captures() -> list[Capture]:
    """Pages of rts and srf on each day, at the day boundaries, plus pages that must be left out:
    before the start, at the end, and of a source not asked for."""
    caps: list[Capture] = []
    n = 0
    for d in range(6):
        day = DAY0 + timedelta(days=d)
        for source, when in (("rts", day), ("rts", day + timedelta(hours=23, minutes=59, seconds=59)),
                             ("srf", day + timedelta(hours=12)), ("rsi", day + timedelta(hours=12))):
            caps.append(_page(source, when, n))
            n += 1
    caps.append(_page("srf", START - timedelta(seconds=1), n))
    caps.append(_page("srf", START, n + 1))
    return caps


def _expected(caps: list[Capture]) -> Counter[str]:
    """Document ids of the captures the backfill must reprocess (each once)."""
    return Counter(document_id(c.url) for c in caps if c.source in SOURCES and START <= c.fetched_at < END)


def _backfill(archive: Archive, es_url: str, units: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    request = backfill.BackfillRequest(start=START, end=END, sources=SOURCES)
    return [backfill.run_unit(unit, request, sources_file=str(DEFAULT_SOURCES_FILE), archive_root=archive.root,
                              es_url=es_url, index_name=WRITE_ALIAS, run_id=run_id, entities=False,
                              dead_letter_path=str(Path(archive.root) / "dead.jsonl"))
            for unit in units]


def test_a_multi_day_unit_reprocesses_each_capture_of_its_sources_once_and_again_is_unchanged(
        tmp_path: Path, search: SearchTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = Archive(str(tmp_path / "archive"))
    caps = _captures()
    archive.write_captures(caps, run_id="fetch")
    expected = _expected(caps)
    assert len(expected) == sum(expected.values()) == 15  # 5 days x 3 pages, - 1 before the start, + 1 at it

    calls: list[dict[str, Any]] = []
    real = reprocess_module.reprocess

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(reprocess_module, "reprocess", spy)
    units = backfill.split_units(backfill.BackfillRequest(start=START, end=END, sources=SOURCES), unit_days=2)
    assert [(u["first_day"], u["last_day"]) for u in units] == [
        ("2022-02-01", "2022-02-02"), ("2022-02-03", "2022-02-04"), ("2022-02-05", "2022-02-05")]

    results = _backfill(archive, search.url, units, run_id="backfill-1")
    assert len(calls) == len(units)  # one reprocess call (one model load) per unit, not per day and source
    assert all(c["sources"] == list(SOURCES) for c in calls)
    assert [r["sources"] for r in results] == [list(SOURCES)] * 3
    assert [(r["first_day"], r["last_day"]) for r in results] == [(u["first_day"], u["last_day"]) for u in units]
    assert [r["captures"] for r in results] == [3 - 1 + 1 + 3, 6, 3]  # day 0: rts at 00:00 out, srf at START in
    totals = backfill.unit_totals(results)
    assert totals["captures"] == totals["documents"] == totals["indexed_created"] == 15
    assert totals.get("indexed_updated", 0) == totals.get("indexed_unchanged", 0) == totals["errors"] == 0
    by_source = sum((Counter(r["by_source"]) for r in results), Counter())
    assert by_source == {"rts": 9, "srf": 6}

    docs = list(archive.iter_documents(start=DAY0 - timedelta(days=1), end=END + timedelta(days=2),
                                       latest_only=False))
    assert Counter(d.id for d in docs) == expected  # every capture once: none missed, none twice
    es = connect(search.url)
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == 15

    again = backfill.unit_totals(_backfill(archive, search.url, units, run_id="backfill-2"))
    assert again["documents"] == again["indexed_unchanged"] == 15
    assert again.get("indexed_created", 0) == again.get("indexed_updated", 0) == 0
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == 15


def test_a_unit_planned_by_the_per_source_day_version_still_runs(tmp_path: Path, search: SearchTarget) -> None:
    """A backfill run planned before units became multi-day chunks (one source, one day), retried
    after the upgrade: its units reprocess that source and day."""
    archive = Archive(str(tmp_path / "archive"))
    caps = _captures()
    archive.write_captures(caps, run_id="fetch")
    day = DAY0 + timedelta(days=2)
    old_unit = {"source": "rts", "day": day.date().isoformat(), "start": day.isoformat(),
                "end": (day + timedelta(days=1)).isoformat()}
    (result,) = _backfill(archive, search.url, [old_unit], run_id="backfill-old")
    assert (result["sources"], result["first_day"], result["last_day"]) == (["rts"], "2022-02-03", "2022-02-03")
    assert result["captures"] == result["documents"] == 2 and result["by_source"] == {"rts": 2}
    assert backfill.unit_label(old_unit) == "rts 2022-02-03"


def test_a_refetch_keeps_the_pages_in_the_day_they_were_published(tmp_path: Path) -> None:
    """The refetch's ledger entries keep the publication date: a page refetched on a later day
    stays in its day, so the next day's unit of the same backfill does not fetch it again."""
    from pipeline.archive.state import SeenEntry

    archive = Archive(str(tmp_path / "archive"))
    published = datetime(2026, 3, 1, 23, 50, tzinfo=UTC)
    archive.record_seen("rts", [SeenEntry(url="https://www.rts.ch/a.html", fetched_at=published + timedelta(minutes=5),
                                          guid="rts-1", title="A", published=published)], run_id="r1")
    day = datetime(2026, 3, 1, tzinfo=UTC)
    known, unknown = backfill.refetch_items(archive, "rts", ["https://www.rts.ch/a.html", "https://www.rts.ch/b.html"],
                                            day)
    assert (known.guid, known.title, known.published) == ("rts-1", "A", published)
    assert (unknown.guid, unknown.published) == ("https://www.rts.ch/b.html", day)


def test_saved_plans_are_read_back_and_a_cleaned_up_one_is_made_again(tmp_path) -> None:
    from pipeline.archive import Archive
    from pipeline.flows.backfill import load_plan, save_plans
    from pipeline.flows.refetch_plan import RefetchPlan

    archive = Archive(str(tmp_path / "archive"))
    plan = RefetchPlan(source="rts", day="2026-12-01", fetch=["https://www.rts.ch/a"],
                       revalidate={"https://www.rts.ch/b": {"If-None-Match": '"x"'}}, skipped={"gone": ["https://www.rts.ch/c"]})
    paths = save_plans(archive, "manual__2026-12-02T10:00:00+00:00", [plan])
    assert list(paths) == ["rts 2026-12-01"]
    assert load_plan(archive, paths, {"source": "rts", "day": "2026-12-01"}) == plan
    assert load_plan(archive, paths, {"sources": ["rts"], "first_day": "2026-12-01"}) is None  # a reprocess unit
    archive.remove(paths["rts 2026-12-01"])
    assert load_plan(archive, paths, {"source": "rts", "day": "2026-12-01"}) is None
