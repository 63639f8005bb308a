"""DAG integrity: every DAG file imports cleanly, fast and offline, and the DAGs are set up as
intended (schedule, catchup, retries, timeouts, tags, pools, owners, Params)."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.dags import harness

DAG_FILES = sorted(p for p in harness.DAGS.glob("*.py") if not p.name.startswith("_"))
DAG_IDS = {"news_ingest", "news_backfill", "news_maintenance"}

pytestmark = pytest.mark.airflow


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    attempts: list[tuple] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network access during DAG parsing: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))
    return attempts


def test_dag_folder_holds_the_three_dags() -> None:
    assert {p.stem for p in DAG_FILES} == DAG_IDS
    ignored = (harness.DAGS / ".airflowignore").read_text()
    assert "_*.py" in ignored  # helpers are not parsed as DAG files


def test_every_dag_file_imports_without_errors_or_network(no_network: list[tuple]) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(harness.DAGS), bundle_path=harness.DAGS)
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == DAG_IDS
    assert no_network == []


def test_parsing_costs_less_than_importing_the_task_sdk() -> None:
    """Time budget as a ratio: loading the three DAG files (once airflow.sdk is imported, as in
    the DAG processor) must cost less than importing airflow.sdk itself, which is a fraction of a
    second to a few seconds depending on the machine — so the folder parses well under 2 s."""
    code = f"""
import importlib.util, json, sys, time
t0 = time.perf_counter()
import airflow.sdk  # noqa: F401
from airflow.sdk import Param, dag, task  # noqa: F401  (resolve the lazy names too)
t1 = time.perf_counter()
sys.path.insert(0, {str(harness.DAGS)!r})
for path in {[str(p) for p in DAG_FILES]!r}:
    spec = importlib.util.spec_from_file_location("m" + str(len(sys.modules)), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
t2 = time.perf_counter()
print(json.dumps({{"sdk": t1 - t0, "dags": t2 - t1}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"import airflow.sdk: {times['sdk']:.3f} s; parse the 3 DAG files: {times['dags']:.3f} s")
    assert times["dags"] < times["sdk"], times


@pytest.fixture(scope="module")
def dags() -> dict:
    return {name: harness.load_dag(name) for name in DAG_IDS}


def test_ingest_schedule_catchup_and_concurrency(dags: dict) -> None:
    dag = dags["news_ingest"]
    assert dag.schedule == "@hourly"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    for name in ("news_backfill", "news_maintenance"):
        assert dags[name].schedule is None
        assert dags[name].catchup is False


def test_ingest_schedule_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_INGEST_SCHEDULE", "*/30 * * * *")
    assert harness.load_dag("news_ingest").schedule == "*/30 * * * *"
    monkeypatch.setenv("NEWSFLOW_INGEST_SCHEDULE", "manual")
    assert harness.load_dag("news_ingest").schedule is None


def test_every_task_has_retries_backoff_timeout_and_owner(dags: dict) -> None:
    for dag in dags.values():
        assert set(dag.tags) >= {"newsflow"}
        for t in dag.tasks:
            where = f"{dag.dag_id}.{t.task_id}"
            assert t.owner == "newsflow", where
            assert t.execution_timeout is not None and t.execution_timeout <= timedelta(hours=6), where
            if t.task_id not in ("report", "sources_health", "validate", "run_action"):  # deterministic: retrying cannot help
                assert t.retries >= 1, where
                assert t.retry_exponential_backoff >= 2, where
                assert t.max_retry_delay is not None, where


def test_ingest_maps_feeds_and_fetches_pages_through_a_pool_per_host(dags: dict) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dags["news_ingest"]
    assert isinstance(dag.get_task("fetch_feed"), MappedOperator)
    page_tasks = [t for t in dag.tasks if t.task_id.startswith("fetch_pages_")]
    hosts = {"rts_ch", "srf_ch", "rsi_ch"}  # config/sources.yaml
    assert {t.task_id.removeprefix("fetch_pages_") for t in page_tasks} == hosts
    for t in page_tasks:
        assert isinstance(t, MappedOperator)
        assert t.pool == "news_host_" + t.task_id.removeprefix("fetch_pages_")
    assert set(dag.tags) == {"newsflow", "ingest"}
    for tid in ("process", "index", "report"):
        assert dag.get_task(tid).trigger_rule == "all_done"  # one failure does not stop the rest


def test_pools_file_covers_every_page_task(dags: dict) -> None:
    proc = subprocess.run([sys.executable, str(harness.DAGS / "_pools.py")], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "NEWSFLOW_SOURCES": str(harness.REPO / "config/sources.yaml")})
    assert proc.returncode == 0, proc.stderr
    pools = json.loads(proc.stdout)
    used = {t.pool for t in dags["news_ingest"].tasks if t.task_id.startswith("fetch_pages_")}
    assert used <= set(pools)
    assert all(p["slots"] >= 1 for p in pools.values())


def test_backfill_form_lists_the_configured_sources(dags: dict) -> None:
    params = dags["news_backfill"].params
    sources = params.get_param("sources").schema
    assert sources["type"] == "array"
    assert sources["items"]["enum"] == ["rts", "srf", "rsi"]
    assert params.get_param("sources").value == ["rts", "srf"]  # the enabled ones
    assert params.get_param("mode").schema["enum"] == ["reprocess", "refetch"]
    assert params.get_param("target").schema["enum"] == ["live", "new-version"]
    assert params.get_param("dry_run").value is False


@pytest.mark.parametrize(("field", "value"), [
    ("mode", "rebuild"), ("target", "old"), ("sources", ["nope"]), ("start", "31/01/2026"),
])
def test_backfill_form_refuses_bad_values(dags: dict, field: str, value: object) -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    params = copy.deepcopy(dags["news_backfill"].params)
    params.update({"start": "2026-01-01", "end": "2026-01-02"})
    with pytest.raises(ParamValidationError, match=f"param {field}"):
        params.update({field: value})


def test_backfill_form_accepts_dates_and_datetimes(dags: dict) -> None:
    for start, end in (("2026-01-01", "2026-01-02"), ("2026-01-01T06:00Z", "2026-01-01T18:30:00+01:00")):
        params = copy.deepcopy(dags["news_backfill"].params)
        params.update({"start": start, "end": end})
        params.validate()


def test_plugin_links_only_newsflow_runs_and_only_with_kibana(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    def load():
        spec = importlib.util.spec_from_file_location("newsflow_kibana_test", harness.PLUGINS / "newsflow_kibana.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    class Key:
        def __init__(self, dag_id: str, run_id: str) -> None:
            self.dag_id, self.run_id, self.task_id, self.map_index = dag_id, run_id, "index", -1

    monkeypatch.delenv("KIBANA_URL", raising=False)
    plugin = load()
    assert plugin.NewsflowKibanaPlugin.global_operator_extra_links == []
    assert plugin.NewsflowKibanaPlugin.external_views == []

    monkeypatch.setenv("KIBANA_URL", "http://kibana.example:5601/")
    plugin = load()
    (link,) = plugin.NewsflowKibanaPlugin.global_operator_extra_links
    url = link.get_link(None, ti_key=Key("news_ingest", "scheduled__2026-01-13T09:00:00+00:00"))
    assert url.startswith("http://kibana.example:5601/app/discover#/?_g=")
    assert "run_id" in url and "scheduled__2026-01-13T09" in url and "newsflow-news-articles" in url
    assert "2026-01-06T09:00:00" in url  # time window around the run's date
    assert link.get_link(None, ti_key=Key("some_other_dag", "manual__x")) == ""
    (view,) = plugin.NewsflowKibanaPlugin.external_views
    assert view["destination"] == "nav"
    assert view["href"] == "http://kibana.example:5601/app/dashboards#/view/newsflow-dashboard-news"
    assert plugin.rison_string("it's!") == "'it!'s!!'"


def test_plugin_loads_in_airflow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {**os.environ, "KIBANA_URL": "http://kibana.example:5601"}
    proc = subprocess.run([str(harness.VENV_BIN / "airflow"), "plugins", "--output", "json"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    start = proc.stdout.index("[")
    plugins = json.loads(proc.stdout[start:])
    (ours,) = [p for p in plugins if p["name"] == "newsflow_kibana"]
    assert ours["global_operator_extra_links"]
    assert "News dashboard (Kibana)" in json.dumps(ours["external_views"])


def test_es_connection_to_url() -> None:
    import _newsflow as nf

    class Conn:
        def __init__(self, **kw) -> None:
            self.conn_type, self.host, self.port, self.schema = kw.get("conn_type"), kw.get("host"), kw.get("port"), kw.get("schema")
            self.login, self.password, self.extra_dejson = kw.get("login"), kw.get("password"), kw.get("extra", {})

    assert nf.connection_url(Conn(conn_type="http", host="127.0.0.1", port=9200)) == "http://127.0.0.1:9200"
    assert nf.connection_url(Conn(conn_type="elasticsearch", host="es", port=9243, login="elastic", password="p@ss",
                                  extra={"scheme": "https"})) == "https://elastic:p%40ss@es:9243"
    assert nf.connection_url(Conn(conn_type="generic", host="https://es.example:9200/")) == "https://es.example:9200"


def test_es_url_from_airflow_connection_env_then_es_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import _newsflow as nf

    monkeypatch.setenv("ES_URL", "http://fallback:9200")
    monkeypatch.delenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", raising=False)
    assert nf.es_url() == "http://fallback:9200"
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", "http://user:secret@es-from-conn:9201")
    assert nf.es_url() == "http://user:secret@es-from-conn:9201"


def test_archive_and_sources_from_airflow_variables_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import _newsflow as nf

    monkeypatch.setenv("NEWSFLOW_ARCHIVE", "/from/env")
    monkeypatch.delenv("AIRFLOW_VAR_NEWSFLOW_ARCHIVE", raising=False)
    assert nf.archive_root() == "/from/env"
    monkeypatch.setenv("AIRFLOW_VAR_NEWSFLOW_ARCHIVE", "/from/variable")
    monkeypatch.setenv("AIRFLOW_VAR_NEWSFLOW_SOURCES", "/from/variable/sources.yaml")
    assert nf.run_settings() == {"archive_root": "/from/variable", "sources_file": "/from/variable/sources.yaml"}
    monkeypatch.delenv("AIRFLOW_VAR_NEWSFLOW_ARCHIVE")
    monkeypatch.delenv("AIRFLOW_VAR_NEWSFLOW_SOURCES")
    monkeypatch.delenv("NEWSFLOW_ARCHIVE")
    monkeypatch.delenv("NEWSFLOW_SOURCES", raising=False)
    assert nf.run_settings() == {"archive_root": "./data/archive", "sources_file": str(harness.REPO / "config/sources.yaml")}


def test_task_settings_from_the_environment_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    import _newsflow as nf

    monkeypatch.setenv("NEWSFLOW_TASK_RETRIES", " 5 ")
    assert nf.default_args()["retries"] == 5
    monkeypatch.setenv("NEWSFLOW_TASK_RETRIES", "five")  # was silently 3: now the DAG's import error names it
    with pytest.raises(ValueError, match="NEWSFLOW_TASK_RETRIES='five': expected a whole number ≥ 0"):
        nf.default_args()


def test_the_backfill_units_map_index_label_is_unit_label() -> None:
    """The Airflow UI names each mapped unit with a Jinja copy of `backfill.unit_label`: the
    two render the same text for every kind of unit."""
    from types import SimpleNamespace

    import jinja2

    from pipeline.flows.backfill import split_units, unit_label, validate_request

    module = harness.load_dag_module("news_backfill")
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(module.UNIT_LABEL)
    dag = module.news_backfill_dag
    assert {t.map_index_template for t in dag.tasks if t.map_index_template} == {module.UNIT_LABEL}
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    units = []
    for mode, start, end in (("reprocess", "2026-01-01", "2026-01-09"), ("reprocess", "2026-01-02T06:00Z", "2026-01-02T07:00Z"),
                             ("refetch", "2026-01-01T18:00Z", "2026-01-02T06:00Z")):
        request = validate_request({"start": start, "end": end, "sources": ["rts", "srf"], "mode": mode},
                                   known_sources=["rts", "srf"], enabled_sources=["rts", "srf"], max_days=31, now=now)
        units += split_units(request, unit_days=7)
    assert len(units) == 2 + 1 + 4
    for unit in units:
        assert template.render(task=SimpleNamespace(op_kwargs={"unit": unit})) == unit_label(unit)
