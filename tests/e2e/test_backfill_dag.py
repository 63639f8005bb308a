"""news_backfill and news_maintenance end to end with dag.test() over an archive holding two
past days of RTS-style pages, against the Elasticsearch double."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.archive import Archive
from pipeline.index.connection import READ_ALIAS, WRITE_ALIAS, connect
from pipeline.index.setup import ensure_indices
from tests.dags import harness
from tests.e2e.site import ARTICLES, FixtureSite, archive_pages

pytestmark = [pytest.mark.airflow, pytest.mark.usefixtures("airflow_db")]

DAY1 = (datetime.now(UTC) - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
DAY2 = DAY1 + timedelta(days=1)


@pytest.fixture
def two_days(newsflow_env: dict[str, str], site: FixtureSite, search, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Pages archived on two past days (two runs), ES (via ES_URL) set up with an empty v1."""
    monkeypatch.setenv("ES_URL", search.url)
    archive_pages(site, DAY1, run_id="day1", archive=newsflow_env["NEWSFLOW_ARCHIVE"])
    archive_pages(site, DAY2, run_id="day2", archive=newsflow_env["NEWSFLOW_ARCHIVE"])
    es = connect(search.url)
    ensure_indices(es)
    return es


def backfill(**conf: Any) -> tuple[str, list[Any]]:
    dag = harness.load_dag("news_backfill")
    dr = dag.test(run_conf={"sources": ["rts"], "entities": False, **conf})
    tis = dr.get_task_instances()
    return str(getattr(dr.state, "value", dr.state)), tis


def states(tis: list[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ti in tis:
        out.setdefault(ti.task_id, []).append(str(getattr(ti.state, "value", ti.state)))
    return out


def aliases(es) -> dict[str, list[str]]:
    data = es.indices.get_alias(name=f"{READ_ALIAS},{WRITE_ALIAS}")
    out: dict[str, list[str]] = {}
    for index, info in dict(data).items():
        for alias in info["aliases"]:
            out.setdefault(alias, []).append(index)
    return out


def docs_files() -> list[str]:
    archive = Archive(os.environ["NEWSFLOW_ARCHIVE"])
    return archive.document_paths(start=DAY1 - timedelta(days=1), end=DAY2 + timedelta(days=1))


def test_reprocess_two_archived_days_into_a_new_version_with_alias_swap(two_days,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.flows import heap

    es = two_days
    (live_before,) = aliases(es)[READ_ALIAS]
    monkeypatch.setattr(heap, "_kept", False)  # as in a fresh task process
    monkeypatch.delenv(heap.ENV_SWITCH, raising=False)
    state, tis = backfill(start=DAY1.date().isoformat(), end=DAY2.date().isoformat(), target="new-version")
    assert state == "success", states(tis)
    assert heap.keeps_freed_memory() == (heap._libc() is not None)  # the unit task tagged with malloc tuned
    assert states(tis)["run_unit"] == ["success"]  # both days in one unit (one model load)
    (unit,) = [ti for ti in tis if ti.task_id == "run_unit"]
    assert unit.rendered_map_index == f"rts {DAY1.date().isoformat()}..{DAY2.date().isoformat()}"
    result = unit.xcom_pull(task_ids="run_unit", map_indexes=0)
    assert (result["sources"], result["captures"], result["documents"]) == (["rts"], 2 * len(ARTICLES),
                                                                           2 * len(ARTICLES))
    (live_after,) = aliases(es)[READ_ALIAS]
    assert live_after != live_before and aliases(es)[WRITE_ALIAS] == [live_after]
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)  # same articles both days: no duplicates
    assert es.indices.exists(index=live_before)  # the old version is kept until es-drop-index

    # again, into the live alias: idempotent, everything unchanged
    state, tis = backfill(start=DAY1.date().isoformat(), end=DAY2.date().isoformat(), target="live")
    assert state == "success", states(tis)
    finish = next(ti for ti in tis if ti.task_id == "finish")
    assert finish.xcom_pull(task_ids="finish")["totals"]["indexed_unchanged"] == 2 * len(ARTICLES)
    assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)


def test_dry_run_changes_nothing(two_days, monkeypatch: pytest.MonkeyPatch) -> None:
    es = two_days
    monkeypatch.setenv("NEWSFLOW_BACKFILL_UNIT_DAYS", "1")
    indices_before = sorted(dict(es.indices.get(index="news-articles-v*")))
    state, tis = backfill(start=DAY1.date().isoformat(), end=DAY2.date().isoformat(), target="new-version",
                          dry_run=True)
    assert state == "success", states(tis)
    units = sorted((ti for ti in tis if ti.task_id == "run_unit"), key=lambda ti: ti.map_index)
    assert [ti.rendered_map_index for ti in units] == [f"rts {DAY1.date().isoformat()}",
                                                       f"rts {DAY2.date().isoformat()}"]  # one day per unit
    totals = next(ti for ti in tis if ti.task_id == "finish").xcom_pull(task_ids="finish")["totals"]
    assert totals["captures"] == 2 * len(ARTICLES)
    assert docs_files() == []
    assert sorted(dict(es.indices.get(index="news-articles-v*"))) == indices_before
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == 0


def test_an_invalid_form_is_refused_with_the_message(two_days, capfd: pytest.CaptureFixture[str]) -> None:
    state, tis = backfill(start=DAY2.date().isoformat(), end=DAY1.date().isoformat())
    assert state == "failed"
    assert states(tis)["validate"] == ["failed"]
    assert "run_unit" not in states(tis) or states(tis)["run_unit"] != ["success"]
    out = capfd.readouterr()
    assert "is after end" in out.out + out.err
    assert docs_files() == []


def test_a_bad_unit_days_setting_stops_the_run_at_validate(two_days, monkeypatch: pytest.MonkeyPatch,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NEWSFLOW_BACKFILL_UNIT_DAYS", "week")
    state, tis = backfill(start=DAY1.date().isoformat(), end=DAY2.date().isoformat())
    assert state == "failed"
    assert states(tis)["validate"] == ["failed"]
    out = capfd.readouterr()
    assert "NEWSFLOW_BACKFILL_UNIT_DAYS='week': expected a whole number of days" in out.out + out.err
    assert docs_files() == []


def test_maintenance_reindexes_from_the_archive_and_replays_dead_letters(two_days, search) -> None:
    from pipeline.index.dead_letter import DeadLetter, DeadLetterWriter

    es = two_days
    assert backfill(start=DAY1.date().isoformat(), end=DAY2.date().isoformat())[0] == "success"
    (live_before,) = aliases(es)[READ_ALIAS]
    dag = harness.load_dag("news_maintenance")
    dr = dag.test(run_conf={"action": "reindex"})
    assert str(getattr(dr.state, "value", dr.state)) == "success"
    (live_after,) = aliases(es)[READ_ALIAS]
    assert live_after != live_before
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)

    # a document that once failed is indexed by the replay
    archive = Archive(os.environ["NEWSFLOW_ARCHIVE"])
    doc = next(iter(archive.iter_documents(start=DAY1 - timedelta(days=1), end=DAY2 + timedelta(days=1))))
    es.delete(index=live_after, id=doc.id, refresh=True)
    letters = archive.root + "/dead-letter/old-run.jsonl"
    DeadLetterWriter(letters).write(DeadLetter(document=doc, reason="mapper_parsing_exception: fixed since"))
    dr = harness.load_dag("news_maintenance").test(run_conf={"action": "replay-dead-letter"})
    assert str(getattr(dr.state, "value", dr.state)) == "success"
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)


def test_refetch_fetches_the_pages_known_for_the_range_again(newsflow_env, site: FixtureSite, search,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.flows.ingest import run_ingest

    monkeypatch.setenv("ES_URL", search.url)
    run_ingest(entities=False)  # today's pages are in the archive and its seen ledger
    pages_before = site.page_requests()
    today = datetime.now(UTC).date()
    conf = {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat(), "mode": "refetch"}
    state, tis = backfill(**conf, dry_run=True)
    assert state == "success", states(tis)
    assert site.page_requests() == pages_before  # a dry run fetches nothing
    # the plan, in the first task's log: the archived pages are revalidated, nothing else asked for
    plan = next(ti for ti in tis if ti.task_id == "validate").xcom_pull(task_ids="validate")["plan"]  # and its log
    assert plan[-1] == f"plan: 0 page(s) to fetch, {len(ARTICLES)} to revalidate (conditional), 0 skipped"
    import pipeline.flows.backfill as backfill_flow

    planned: list[str] = []
    real_plan_unit = backfill_flow.plan_unit

    def plan_unit(unit: dict, **options: object):
        planned.append(f"{unit['source']} {unit['day']}")
        return real_plan_unit(unit, **options)

    monkeypatch.setattr(backfill_flow, "plan_unit", plan_unit)
    state, tis = backfill(**conf)
    assert state == "success", states(tis)
    assert sorted(ti.rendered_map_index for ti in tis if ti.task_id == "run_unit") == [  # per (day, source)
        f"rts {today - timedelta(days=1)}", f"rts {today}"]
    # planned once, by the first task (its plan logged and saved); the units ran those plans
    assert sorted(planned) == [f"rts {today - timedelta(days=1)}", f"rts {today}"]
    paths = next(ti for ti in tis if ti.task_id == "validate").xcom_pull(task_ids="validate")["plan_paths"]
    assert sorted(paths) == sorted(planned) and all("/backfill-plans/" in p for p in paths.values())
    assert site.page_requests() == pages_before + len(ARTICLES)
    totals = next(ti for ti in tis if ti.task_id == "finish").xcom_pull(task_ids="finish")["totals"]
    assert totals["pages_fetched"] == len(ARTICLES)
    assert totals["indexed_unchanged"] == len(ARTICLES)  # same pages, same documents: nothing rewritten
    es = connect(search.url)
    es.indices.refresh(index=READ_ALIAS)
    assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)
