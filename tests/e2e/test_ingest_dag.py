"""news_ingest end to end with dag.test(): the fixture site on 127.0.0.1 (feeds and RTS-style
pages), the real processing chain, and each search engine (the double; the real engine when it
runs, tests/search_target.py). Fault injection runs on the double only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.archive import Archive
from pipeline.flows.ingest import latest_reports, pending_markers
from pipeline.index.connection import READ_ALIAS, connect
from tests.dags import harness
from tests.e2e.site import ARTICLES, FixtureSite, archive_pages
from tests.search_target import SearchTarget

pytestmark = [pytest.mark.airflow, pytest.mark.usefixtures("airflow_db")]


@pytest.fixture
def with_es(newsflow_env: dict[str, str], search: SearchTarget, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """ES through the Airflow connection elasticsearch_default (as configured in production)."""
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", search.url)
    return newsflow_env


def run(conf: dict[str, Any] | None = None, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """One news_ingest run (DAG parsed afresh); its state and the report it saved."""
    dag = harness.load_dag("news_ingest")
    before = latest_reports(_archive(), n=1000)
    dr = dag.test(run_conf={"entities": True, **(conf or {})}, **kwargs)
    reports = latest_reports(_archive(), n=1000)
    assert len(reports) == len(before) + 1, "the report task saved no report"
    print("\n" + _table(reports[-1]))
    return str(getattr(dr.state, "value", dr.state)), reports[-1]


def _archive() -> str:
    import os

    return os.environ["NEWSFLOW_ARCHIVE"]


def _table(report: dict[str, Any]) -> str:
    from pipeline.flows.report import IngestReport, SourceCounts

    rep = IngestReport(run_id=report["run_id"], mode=report["mode"],
                       sources={k: SourceCounts(**v) for k, v in report["sources"].items()},
                       failures=report["failures"], alarms=report["alarms"], notes=report["notes"],
                       index_status=report["index_status"], pending_documents=report["pending_documents"])
    return rep.render()


def test_first_run_indexes_the_articles_second_run_fetches_nothing(with_es, site: FixtureSite, search: SearchTarget) -> None:
    state, rep = run()
    assert state == "success", rep["failures"]
    rts = rep["sources"]["rts"]
    assert (rts["feeds_fetched"], rts["items_new"], rts["pages_fetched"]) == (3, 4, 4)
    assert rts["items_read"] == sum(rts["fates"].values()) == 4 == rts["fates"]["new"]  # the Airflow path's ledger
    assert {(i["document"], i["index"]) for i in rts["items"]} == {("written", "indexed")}
    assert (rts["documents"], rts["docs_created"], rts["docs_dead_lettered"]) == (4, 4, 0)
    assert rep["ok"] and rep["index_status"] == "indexed"
    assert search.count() == len(ARTICLES)
    # a French word (stemmed, accents folded: "emeute" finds "émeutes") and an entity
    by_word = search.search({"match": {"text_fr": "emeute"}})
    assert [d["title"] for d in by_word] == [ARTICLES[0]["title"]]
    by_entity = search.search({"term": {"entities.per": "Kassym-Jomart Tokaïev"}})
    assert [d["title"] for d in by_entity] == [ARTICLES[0]["title"]]
    assert pending_markers(Archive(_archive())) == []

    pages_before = site.page_requests()
    state, rep = run()
    assert state == "success", rep["failures"]
    rts = rep["sources"]["rts"]
    assert (rts["items_unchanged"], rts["pages_fetched"], rts["documents"]) == (4, 0, 0)
    assert site.page_requests() == pages_before
    assert search.count() == len(ARTICLES)


def test_the_processing_goldens_served_as_a_feed_come_out_as_expected(with_es, site: FixtureSite, search: SearchTarget,
                                                                      fixtures_dir: Path) -> None:
    """The RTS pages of tests/fixtures/rts (the processing helpers' goldens), fetched and processed
    by the DAG, are indexed with the title, lead and body their .expected.json files give."""
    import json

    from tests.e2e.site import rss

    goldens = sorted((fixtures_dir / "rts").glob("*.html"))
    assert goldens
    items = []
    for i, page in enumerate(goldens):
        path = f"/info/golden/{page.stem}.html"
        site.responses[path] = (200, page.read_bytes(), "text/html; charset=utf-8")
        expected = json.loads(page.with_suffix(".expected.json").read_text(encoding="utf-8"))
        items.append(({"slug": f"golden/{page.stem}", "title": expected["title"], "lead": expected["lead"]},
                      site.published - timedelta(minutes=i)))
    site.responses["/feeds/monde.xml"] = (200, rss("golden", items, base=site.base), "application/rss+xml")
    site.responses["/feeds/suisse.xml"] = site.responses["/feeds/economie.xml"] = (304, b"", "text/plain")
    state, rep = run({"entities": False})
    assert state == "success", rep["failures"]
    assert rep["sources"]["rts"]["docs_created"] == len(goldens)
    for page in goldens:
        expected = json.loads(page.with_suffix(".expected.json").read_text(encoding="utf-8"))
        (doc,) = search.search({"term": {"title.keyword": expected["title"]}})
        assert doc["lead"] == expected["lead"], page.name
        paragraphs = [b["text"] for b in expected["body"] if b["type"] == "paragraph"]
        assert all(p in doc["text_all"] for p in paragraphs), page.name


def test_a_changed_page_is_updated_not_duplicated(with_es, site: FixtureSite, search: SearchTarget) -> None:
    assert run()[0] == "success"
    art = ARTICLES[1]
    site.set_page(art, published=site.published, extra="Le Conseil fédéral réexaminera la situation en avril.")
    site.build_feeds(updated={art["slug"]: site.published + timedelta(minutes=30)})
    state, rep = run()
    assert state == "success", rep["failures"]
    rts = rep["sources"]["rts"]
    assert (rts["items_updated"], rts["pages_fetched"], rts["docs_updated"], rts["docs_created"]) == (1, 1, 1, 0)
    assert search.count() == len(ARTICLES)
    (doc,) = search.search({"match_phrase": {"text_fr": "réexaminera la situation en avril"}})
    assert doc["title"] == art["title"]


def test_one_failing_feed_does_not_stop_the_others(with_es, site: FixtureSite, search: SearchTarget) -> None:
    site.fail("/feeds/suisse.xml", 500)
    dag = harness.load_dag("news_ingest")
    dr = dag.test(run_conf={"entities": True})
    rep = latest_reports(_archive())[-1]
    tasks = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dr.get_task_instances()}
    # degraded, not failed: the run and its report succeed, sources_health is skipped naming the feed
    assert str(getattr(dr.state, "value", dr.state)) == "success", rep["failures"]
    assert (tasks["report"], tasks["sources_health"]) == ("success", "skipped")
    assert rep["status"] == "degraded" and rep["failures"] == []
    assert any(f.startswith(f"feed {site.base}/feeds/suisse.xml (rts) failed") for f in rep["degraded"]), rep
    assert rep["sources"]["rts"]["feeds_failed"] == 1
    # the articles of the other feeds are indexed; the suisse one is not
    assert search.count() == len(ARTICLES) - 1
    assert search.search({"match": {"text_fr": "restaurateurs"}}) == []


def test_a_changed_site_layout_raises_a_data_quality_alarm(with_es, site: FixtureSite, search: SearchTarget) -> None:
    for i, art in enumerate(ARTICLES):  # the article body moved to markup the profile does not know
        path = f"/info/{art['slug']}.html"
        site.responses[path] = (200, f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>{art['title']}</title></head><body><div class="app-root" data-page="{i}">
<h1 class="article-title">{art['title']}</h1><div class="teaser">Lire la suite</div></div></body></html>""".encode(),
                                "text/html; charset=utf-8")
    state, rep = run()
    assert state == "success", rep["failures"]  # alarms warn, they do not fail the run
    assert any("pages extracted an empty or very short body" in a and "layout" in a for a in rep["alarms"]), rep


def test_elasticsearch_429_for_a_while_recovers_with_nothing_lost(with_es, es_double, search: SearchTarget) -> None:
    es_double.faults.reject_bulk(nth=1, times=3)
    state, rep = run()
    assert state == "success", rep["failures"]
    assert rep["sources"]["rts"]["docs_created"] == len(ARTICLES)
    assert rep["sources"]["rts"]["docs_dead_lettered"] == 0
    assert search.count() == len(ARTICLES)


def test_elasticsearch_down_for_the_whole_run_then_the_next_run_indexes_it_all(with_es, site, es_double, search: SearchTarget) -> None:
    es_double.faults.down()
    state, rep = run()
    assert state == "failed"
    assert rep["index_status"] == "failed"
    assert any(f.startswith("indexing failed") for f in rep["failures"]), rep["failures"]
    archive = Archive(_archive())
    now = datetime.now(UTC)
    captures = list(archive.iter_captures(start=now - timedelta(days=1), end=now + timedelta(hours=1)))
    assert len(captures) == len(ARTICLES)  # every page fetched is in the archive
    assert len(list(archive.iter_documents(start=now - timedelta(days=1), end=now + timedelta(hours=1)))) == 4
    assert len(pending_markers(archive)) == 1 and rep["pending_documents"] == len(ARTICLES)

    es_double.faults.up()
    state, rep = run()
    assert state == "success", rep["failures"]
    rts = rep["sources"]["rts"]
    assert (rts["pages_fetched"], rts["docs_created"]) == (0, len(ARTICLES))
    assert search.count() == len(ARTICLES)
    assert pending_markers(archive) == []


def test_a_run_for_a_past_interval_replays_the_archive(with_es, site: FixtureSite, search: SearchTarget) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    archive_pages(site, hour - timedelta(hours=4) + timedelta(minutes=10), archive=_archive())
    state, rep = run(logical_date=hour - timedelta(hours=4))  # a manual run replays the hour of its date
    assert state == "success", rep["failures"]
    assert rep["mode"] == "replay"
    assert rep["interval"] == [(hour - timedelta(hours=4)).isoformat(), (hour - timedelta(hours=3)).isoformat()]
    assert not any(p.startswith("/feeds/") for p in site.requests)  # today's feeds not read
    rts = rep["sources"]["rts"]
    assert (rts["captures"], rts["documents"], rts["docs_created"]) == (4, 4, 4)
    assert search.count() == len(ARTICLES)


def test_cli_ingest_without_then_with_elasticsearch(newsflow_env, search: SearchTarget, capsys) -> None:
    from pipeline.cli import main

    assert main(["ingest", "--no-entities", "--no-index"]) == 0
    out = capsys.readouterr()
    assert "this run stops after the archive" in out.err
    assert "4 documents waiting for the next run" in out.out
    assert not _index_exists(search.url) or search.count() == 0  # nothing indexed yet

    assert main(["ingest", "--no-entities", "--es-url", search.url]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("rts"))
    assert row.split()[1:6] == ["0/3/0/0", "4", "0", "0", "4"]  # 4 items read, all unchanged: nothing fetched again …
    assert row.split()[-2:] == ["4/0/0", "0"]  # … and the 4 pending documents indexed
    assert search.count() == len(ARTICLES)


def _index_exists(url: str) -> bool:
    return bool(connect(url).indices.exists_alias(name=READ_ALIAS))


def test_dead_letter_path_defaults_into_the_archive(newsflow_env) -> None:
    from pipeline.flows.ingest import default_dead_letter

    path = Path(default_dead_letter(_archive(), "manual__2026-01-01T00:00:00+00:00"))
    assert path.parent == Path(_archive()) / "dead-letter"
