"""Airflow at scale, for real: the CeleryExecutor with a Redis broker and a PostgreSQL metadata
database (Debian's packages, private instances on free ports), an api-server, a scheduler, a
dag-processor and two Celery workers (`w1`, `w2`, two slots each, every queue), all driven
through the REST API like an operator would:

1. `news_ingest` over the local fixture site into the suite's search engine;
2. a reprocess backfill of five days, one unit per day, mapped across both workers;
3. the same backfill again: nothing changes;
4. the same backfill once more, with `w1` SIGKILLed (its whole process group, a host lost) while
   it runs a unit: the unit is retried on `w2`, every task ends in success, no duplicate.

A bad backfill request is refused with HTTP 400 before any run exists (the form guard).

Requires PostgreSQL and Redis (scripts/test installs them as root; with CI=true a missing one
fails the test, elsewhere it is skipped with one line).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.distributed.stack import (
    VENV_BIN,
    CeleryAirflow,
    airflow_env,
    api_log_in,
    celery_airflow,
    free_port,
    missing_services,
    postgres_server,
    redis_server,
    wait_for,
)
from tests.e2e.site import ARTICLES, FixtureSite, write_sources
from tests.search_target import SearchTarget

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

USER, PASSWORD = "admin", "distributed-test-password"
START_DEADLINE_S = 180
RUN_DEADLINE_S = 240
DAYS = len(ARTICLES)  # one article archived per day: one document per unit
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[str, str]]:
    missing = missing_services()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: the distributed test needs {', '.join(missing)}; scripts/test installs them "
                        "with apt-get when it runs as root")
        pytest.skip(f"distributed Airflow test skipped: {', '.join(missing)} not installed "
                    "(scripts/test installs them when run as root)")
    with postgres_server() as db_url, redis_server() as broker_url:
        yield db_url, broker_url


def archive_one_article_per_day(site: FixtureSite, archive: Path, first_day: datetime) -> None:
    """Day i holds article i (one capture): each day's unit writes its own document."""
    from pipeline.archive import Archive
    from pipeline.models import Capture

    caps = []
    for i, art in enumerate(ARTICLES):
        path = f"/info/{art['slug']}.html"
        status, body, ctype = site.responses[path]
        caps.append(Capture(url=site.base + path, fetched_at=first_day + timedelta(days=i, hours=10), status=status,
                            body=body, kind="page", source="rts", response_headers=(("Content-Type", ctype),)))
    Archive(str(archive)).write_captures(caps, run_id="earlier")


class Api:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.client.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100}).json()["dag_runs"])

    def tis(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        resp = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
        return list(resp.json()["task_instances"])

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> httpx.Response:
        return self.client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})

    def wait_run(self, dag_id: str, run_id: str, deadline_s: float = RUN_DEADLINE_S) -> str:
        def done() -> str | None:
            (run,) = [r for r in self.runs(dag_id) if r["dag_run_id"] == run_id]
            return run["state"] if run["state"] in ("success", "failed") else None

        return str(wait_for(f"{dag_id} run {run_id} finished", done, deadline_s, 1))

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        resp = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value")
        assert resp.status_code == 200, resp.text
        value = resp.json()["value"]
        return json.loads(value) if isinstance(value, str) else value


def summary(tis: list[dict[str, Any]]) -> list[tuple[str, int, str, str | None, int]]:
    return sorted((t["task_id"], t["map_index"], t["state"], t.get("hostname"), t["try_number"]) for t in tis)


@pytest.mark.timeout(1200)  # five Airflow runs with deadlines of their own; 150 s on an idle 2-core machine
def test_celery_workers_share_ingest_and_backfill(tmp_path: Path, httpserver, engine: SearchTarget,
                                                  services: tuple[str, str]) -> None:
    db_url, broker_url = services
    site = FixtureSite(base=f"http://127.0.0.1:{httpserver.port}")
    site.install(httpserver)
    home = tmp_path / "airflow"
    home.mkdir()
    archive = tmp_path / "archive"
    sources = write_sources(tmp_path / "sources.yaml", site)
    env = airflow_env(home, db_url=db_url, broker_url=broker_url, port=free_port(), user=USER, password=PASSWORD,
                      extra={"NEWSFLOW_SOURCES": str(sources), "NEWSFLOW_ARCHIVE": str(archive),
                             "NEWSFLOW_TASK_RETRIES": "2", "NEWSFLOW_RETRY_DELAY_S": "2",
                             "NEWSFLOW_INGEST_SCHEDULE": "none", "ES_URL": engine.url,
                             "KIBANA_URL": "http://kibana.example:5601"})
    started = time.monotonic()
    with celery_airflow(home, env, workers={"w1": 2, "w2": 2}) as stack:
        try:
            _drive(stack, engine, site, archive, sources, started)
        except BaseException:
            print(stack.logs())
            raise
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in TIMINGS.items()))


def _drive(stack: CeleryAirflow, engine: SearchTarget, site: FixtureSite, archive: Path, sources: Path,
           started: float) -> None:
    from pipeline.index.connection import READ_ALIAS, connect

    with httpx.Client(base_url=stack.base, timeout=30) as client:
        api_log_in(client, USER, PASSWORD, START_DEADLINE_S)
        api = Api(client)

        def ready() -> bool:
            dead = [c.name for c in stack.components.values() if not c.alive()]
            assert not dead, f"exited at start: {', '.join(dead)}"
            health = client.get("/api/v2/monitor/health").json()
            return health["scheduler"]["status"] == "healthy" and \
                "news_backfill" in {d["dag_id"] for d in client.get("/api/v2/dags").json()["dags"]}

        wait_for("scheduler healthy and DAGs parsed", ready, START_DEADLINE_S, 2)
        TIMINGS["stack start"] = time.monotonic() - started
        assert client.get("/api/v2/importErrors").json()["total_entries"] == 0

        pools = json.loads(subprocess.run([str(VENV_BIN / "python"), "dags/_pools.py", str(sources)], cwd=stack.env["PYTHONPATH"],
                                          capture_output=True, text=True, check=True, timeout=60).stdout)
        for name, spec in pools.items():
            resp = client.post("/api/v2/pools", json={"name": name, **spec})
            assert resp.status_code in (200, 201), resp.text
        for dag_id in ("news_ingest", "news_backfill"):
            assert client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).status_code == 200

        # 1. the hourly run, its tasks spread over the workers' queues
        t0 = time.monotonic()
        resp = api.trigger("news_ingest", {"entities": True})
        assert resp.status_code == 200, resp.text
        run_id = resp.json()["dag_run_id"]
        state = api.wait_run("news_ingest", run_id)
        TIMINGS["news_ingest run"] = time.monotonic() - t0
        tis = api.tis("news_ingest", run_id)
        assert state == "success", summary(tis)
        assert {t["state"] for t in tis} == {"success"}, summary(tis)
        queues = {t["task_id"]: t["queue"] for t in tis}
        assert queues["fetch_pages_127_0_0_1"] == "fetch" and queues["process"] == "ner" and queues["plan"] == "default"
        assert {t["hostname"] for t in tis} <= {"w1", "w2"}, summary(tis)
        es = connect(engine.url)
        es.indices.refresh(index=READ_ALIAS)
        assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)
        assert site.page_requests() == len(ARTICLES)

        # a bad request never becomes a run
        runs_before = len(api.runs("news_backfill"))
        bad = api.trigger("news_backfill", {"start": "2026-01-05", "end": "2026-01-01", "sources": ["rts"]})
        assert bad.status_code == 400, bad.text
        assert "- start: 2026-01-05 is after end (2026-01-01)" in bad.json()["detail"]
        assert len(api.runs("news_backfill")) == runs_before

        # 2. a five-day backfill, one unit per day, across both workers
        first_day = (datetime.now(UTC) - timedelta(days=DAYS + 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        archive_one_article_per_day(site, archive, first_day)
        conf = {"start": first_day.date().isoformat(), "end": (first_day + timedelta(days=DAYS - 1)).date().isoformat(),
                "sources": ["rts"], "mode": "reprocess", "target": "live", "unit_days": 1, "entities": True}

        def backfill(kill: str | None = None) -> tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
            t0 = time.monotonic()
            resp = api.trigger("news_backfill", conf)
            assert resp.status_code == 200, resp.text
            run_id = resp.json()["dag_run_id"]
            killed: dict[str, Any] = {}
            if kill:
                def running_on_victim() -> dict[str, Any] | None:
                    return next((t for t in api.tis("news_backfill", run_id) if t["task_id"] == "run_unit"
                                 and t["state"] == "running" and t["hostname"] == kill), None)

                killed = wait_for(f"a unit running on {kill}", running_on_victim, RUN_DEADLINE_S, 0.3)
                stack.components[kill].kill_group()
                killed["killed_at"] = time.monotonic()
            state = api.wait_run("news_backfill", run_id)
            elapsed = time.monotonic() - t0
            tis = api.tis("news_backfill", run_id)
            assert state == "success", summary(tis)
            assert {t["state"] for t in tis} == {"success"}, summary(tis)
            if kill:
                TIMINGS["backfill with a worker killed"] = elapsed
                TIMINGS["recovery after the kill"] = time.monotonic() - killed["killed_at"]
            return run_id, tis, api.xcom("news_backfill", run_id, "finish"), killed

        t0 = time.monotonic()
        _, tis, first, _ = backfill()
        TIMINGS["backfill of 5 days"] = time.monotonic() - t0
        units = [t for t in tis if t["task_id"] == "run_unit"]
        assert len(units) == DAYS
        assert {t["hostname"] for t in units} == {"w1", "w2"}, summary(tis)  # the units spread over both
        assert first["units"] == DAYS
        assert first["totals"]["documents"] == DAYS, first
        es.indices.refresh(index=READ_ALIAS)
        assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)  # each article once

        # 3. again: nothing changes
        t0 = time.monotonic()
        _, tis, second, _ = backfill()
        TIMINGS["same backfill again"] = time.monotonic() - t0
        assert second["totals"].get("indexed_created", 0) == 0 and second["totals"].get("indexed_updated", 0) == 0, second
        assert second["totals"]["indexed_unchanged"] == DAYS, second

        # 4. a worker lost mid-run: its unit is retried on the other, nothing doubled
        _, tis, third, killed = backfill(kill="w1")
        (retried,) = [t for t in tis if t["task_id"] == "run_unit" and t["map_index"] == killed["map_index"]]
        assert retried["try_number"] >= 2 and retried["hostname"] == "w2", summary(tis)
        assert third["totals"].get("indexed_created", 0) == 0 and third["totals"].get("indexed_updated", 0) == 0, third
        es.indices.refresh(index=READ_ALIAS)
        assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)
        ids = {h["_id"] for h in es.search(index=READ_ALIAS, size=100, query={"match_all": {}})["hits"]["hits"]}
        assert len(ids) == len(ARTICLES)
