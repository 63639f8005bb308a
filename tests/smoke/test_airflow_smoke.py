"""The real thing: `airflow standalone` (API server, scheduler with the LocalExecutor,
DAG processor, triggerer; SQLite) in a temporary AIRFLOW_HOME, bound to 127.0.0.1 on free
ports, with this repository's dags/ and plugins/. The test creates the pools, unpauses
news_ingest and triggers it through the REST API v2 with a JWT from /auth/token, waits for the
run (bounded deadlines, polling — no fixed sleeps), then asks the search engine what was
indexed — the real engine that scripts/test starts (OpenSearch), or the Elasticsearch double
when none runs; finally an Airflow backfill of a past hour (REST API) must replay the archive.
Task processes reach the fixture site and the engine over HTTP on 127.0.0.1.

On failure the output shows the tail of Airflow's own log and of every task log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.flows.ingest import latest_reports
from tests.dags import harness
from tests.distributed.stack import api_log_in, free_port, wait_for
from tests.e2e.site import ARTICLES, FixtureSite, archive_pages, write_sources
from tests.search_target import SearchTarget

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

USER, PASSWORD = "admin", "smoke-test-password"
START_DEADLINE_S = 150
RUN_DEADLINE_S = 150


def airflow_logs(home: Path, console: Path) -> str:
    parts = [f"===== airflow standalone output ({console}) =====",
             "\n".join(console.read_text(errors="replace").splitlines()[-150:]) if console.exists() else "(none)"]
    for log in sorted((home / "logs").rglob("*.log")):
        text = log.read_text(errors="replace").splitlines()
        parts += [f"===== {log.relative_to(home)} =====", "\n".join(text[-60:])]
    return "\n".join(parts)


@contextmanager
def standalone(home: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    console = home / "standalone.log"
    with console.open("wb") as out:
        proc = subprocess.Popen([str(harness.VENV_BIN / "airflow"), "standalone"], stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=str(home), start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


def standalone_env(home: Path, port: int, *, user: str, extra: dict[str, str],
                   parallelism: int = 4) -> dict[str, str]:
    """The environment of `airflow standalone` in `home` on 127.0.0.1:`port`, with this
    repository's dags/ and plugins/ (its passwords file written by the caller), plus `extra`."""
    base = f"http://127.0.0.1:{port}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "PATH": f"{harness.VENV_BIN}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(harness.REPO),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(harness.DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(harness.PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        **extra,
    }


def test_news_ingest_runs_in_a_real_airflow(tmp_path: Path, httpserver, engine: SearchTarget) -> None:
    """Against the real search engine when it runs (CI), else the double; the header says which."""
    site = FixtureSite(base=f"http://127.0.0.1:{httpserver.port}")
    site.install(httpserver)
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    archive = tmp_path / "archive"
    env = standalone_env(home, port, user=USER, extra={
        "NEWSFLOW_SOURCES": str(write_sources(tmp_path / "sources.yaml", site)),
        "NEWSFLOW_ARCHIVE": str(archive),
        "NEWSFLOW_TASK_RETRIES": "1",
        "NEWSFLOW_RETRY_DELAY_S": "2",
        "ES_URL": engine.url,
        "KIBANA_URL": "http://kibana.example:5601",
    })
    with standalone(home, env):
        try:
            _drive(base, archive, engine, site)
        except BaseException:
            print(airflow_logs(home, home / "standalone.log"))
            raise


def _drive(base: str, archive: Path, engine: SearchTarget, site: FixtureSite) -> None:
    with httpx.Client(base_url=base, timeout=20) as client:
        api_log_in(client, USER, PASSWORD, START_DEADLINE_S)

        # the documented setup step, through the API: one pool per host of the sources file
        pools = json.loads(subprocess.run([str(harness.VENV_BIN / "python"), str(harness.DAGS / "_pools.py"),
                                           str(archive.parent / "sources.yaml")],
                                          capture_output=True, text=True, check=True, timeout=60).stdout)
        for name, spec in pools.items():
            resp = client.post("/api/v2/pools", json={"name": name, **spec})
            if resp.status_code == 409:
                resp = client.patch(f"/api/v2/pools/{name}", json={"name": name, **spec})
            assert resp.status_code in (200, 201), resp.text

        wait_for("news_ingest parsed", lambda: client.get("/api/v2/dags/news_ingest").status_code == 200, 90)
        errors = client.get("/api/v2/importErrors").json()
        assert errors["total_entries"] == 0, errors
        # Unpausing the hourly DAG also lets the scheduler start the latest interval's run
        # (catchup=False: just that one); with max_active_runs=1 the two runs go one after the
        # other, one fetching the pages and the other finding nothing new.
        resp = client.patch("/api/v2/dags/news_ingest", json={"is_paused": False})
        assert resp.status_code == 200, resp.text
        resp = client.post("/api/v2/dags/news_ingest/dagRuns",
                           json={"logical_date": None, "conf": {"entities": True}})
        assert resp.status_code == 200, resp.text
        run_id = resp.json()["dag_run_id"]

        def finished() -> list[dict[str, Any]] | None:
            runs = client.get("/api/v2/dags/news_ingest/dagRuns").json()["dag_runs"]
            ours = [r for r in runs if r["dag_run_id"] == run_id]
            done = all(r["state"] in ("success", "failed") for r in runs)
            return runs if ours and done else None

        runs = wait_for(f"run {run_id} finished", finished, RUN_DEADLINE_S, 2)
        for r in runs:
            print(f"run {r['dag_run_id']} ({r['run_type']}): {r['state']}, {r.get('start_date')} → {r.get('end_date')}")
        tis = client.get(f"/api/v2/dags/news_ingest/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        summary = sorted((t["task_id"], t["map_index"], t["state"]) for t in tis)
        assert {r["state"] for r in runs} == {"success"}, summary
        assert ("fetch_pages_127_0_0_1", 0, "success") in summary
        assert site.page_requests() == len(ARTICLES)  # each page fetched once, whichever run came first

        links = client.get(f"/api/v2/dags/news_ingest/dagRuns/{run_id}/taskInstances/index/links").json()
        kibana = links["extra_links"]["Kibana: documents of this run"]
        assert kibana.startswith("http://kibana.example:5601/app/discover") and "run_id" in kibana

        from pipeline.index.connection import READ_ALIAS, connect

        es = connect(engine.url)
        es.indices.refresh(index=READ_ALIAS)
        assert es.count(index=READ_ALIAS)["count"] == len(ARTICLES)
        hits = es.search(index=READ_ALIAS, query={"match": {"title": "Kazakhstan"}})["hits"]["hits"]
        (hit,) = hits
        assert hit["_source"]["run_id"] in {r["dag_run_id"] for r in runs}

        # Airflow's own backfill of a past hour replays what the archive holds for it
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
        archive_pages(site, hour + timedelta(minutes=10), archive=str(archive))
        feeds_before = sum(1 for p in site.requests if p.startswith("/feeds/"))

        def create_backfill() -> dict[str, Any] | None:
            resp = client.post("/api/v2/backfills", json={"dag_id": "news_ingest", "from_date": hour.isoformat(),
                                                          "to_date": hour.isoformat(), "max_active_runs": 1,
                                                          "dag_run_conf": {"entities": False}})
            if resp.status_code == 503 and "Database is locked" in resp.text:
                # SQLite while the scheduler writes: Airflow refuses the backfill ("not supported on
                # SQLite under concurrent access") and creates nothing; asking again is the answer
                return None
            assert resp.status_code == 200, resp.text
            return dict(resp.json())

        wait_for("backfill created", create_backfill, 120, 2)

        def backfill_done() -> list[dict[str, Any]] | None:
            runs = client.get("/api/v2/dags/news_ingest/dagRuns", params={"run_type": "backfill"}).json()["dag_runs"]
            return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else None

        runs = wait_for("backfill finished", backfill_done, RUN_DEADLINE_S, 2)
        assert [r["state"] for r in runs] == ["success"], runs
        (report,) = [r for r in latest_reports(str(archive), n=10) if r["run_id"] == runs[0]["dag_run_id"]]
        assert report["mode"] == "replay"
        assert report["interval"][0] == hour.isoformat()
        assert report["sources"]["rts"]["documents"] == len(ARTICLES)
        assert report["sources"]["rts"]["docs_unchanged"] == len(ARTICLES)  # same pages: nothing rewritten
        assert sum(1 for p in site.requests if p.startswith("/feeds/")) == feeds_before  # no feed read
