"""news_ingest — the hourly run: feeds → pages → documents → Elasticsearch → report.

Thin wiring of `pipeline.flows.ingest` (one task per step; see docs/airflow.md):

    plan ─► feed_units ─► fetch_feed[source × feed] ─► page_units_<host> ─► fetch_pages_<host>[source]
      │                                                                                   │
      └─► ensure_index ─────────────────────────────────► index ◄── process ◄────────────┘
                                                            └─► report

- `fetch_feed` is mapped over every (source, feed) of the enabled sources; a failing feed is
  reported, the others go on (`page_units_<host>`, `process`, `index` and `report` run whatever
  happened upstream).
- Page fetches of one host share the Airflow pool `news_host_<host>` (politeness across
  concurrent runs); create the pools with `python dags/news_pools.py > pools.json && airflow
  pools import pools.json` (docs/airflow.md).
- A run for an interval that is already over (Airflow backfill, or a very late run) reprocesses
  what the archive holds for its interval instead of reading today's feeds.
- Under the CeleryExecutor, feed and page fetching run on the `fetch` queue, `process` (NER) on
  the `ner` queue, the rest on the default queue (docs/deployment.md); the archive must then be
  shared by the workers (XCom carries paths into it).
- XCom carries archive paths and counts only. The report task logs the table of counts (the
  ledger of item fates) and the run's status, which map to task states an operator can alert on:
  `ok` → every task succeeds; `degraded` (a feed failed or is quarantined, the rest went
  through) → `report` succeeds and `sources_health` is **skipped**, its log naming each degraded
  feed with its reason and next retry time (alert with `on_skipped_callback` or on the task
  state); `failed` (a step crashed, processing or indexing failed, no feed could be read) →
  `report` **fails**, naming each failure, and so does the run. Data-quality alarms are warnings.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import _newsflow as nf
from airflow.sdk import Param, TriggerRule, dag, get_current_context, task

log = logging.getLogger("newsflow.news_ingest")

SOURCES = nf.parse_time_sources()
HOSTS = sorted({s["host"] for s in SOURCES})


@dag(
    dag_id="news_ingest",
    description="Hourly: read the feeds, fetch new pages, process, index, report",
    schedule=nf.ingest_schedule(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=nf.default_args(),
    dagrun_timeout=timedelta(hours=2),
    tags=["newsflow", "ingest"],
    doc_md=__doc__,
    params={
        "sources": Param([], type="array", items={"type": "string"},
                         description="Only these source ids (empty: every enabled source)"),
        "max_pages": Param(None, type=["null", "integer"], minimum=1,
                           description="At most this many pages per source (empty: no limit)"),
        "entities": Param(True, type="boolean", description="Named-entity recognition"),
    },
)
def news_ingest() -> None:
    @task(execution_timeout=timedelta(minutes=5))
    def plan() -> dict[str, Any]:
        """Settings, run mode (live, or replay of a past interval) and the selected sources."""
        from pipeline.flows import ingest

        ctx = get_current_context()
        dag_run, params = ctx["dag_run"], ctx["params"]
        settings = nf.run_settings()
        config = ingest.load_config(settings["sources_file"])
        source_ids = list(params.get("sources") or []) or None
        sources = ingest.select_sources(config, source_ids)
        start, end = ctx.get("data_interval_start"), ctx.get("data_interval_end")
        if start is not None and end is not None and start == end:  # manual run: the hour of its logical date
            start = start.replace(minute=0, second=0, microsecond=0)
            end = start + timedelta(hours=1)
        run_type = getattr(dag_run, "run_type", "")
        replay = ingest.is_past_interval(run_type=str(getattr(run_type, "value", run_type)), interval_end=end)
        cfg = {
            **settings,
            "run_id": ctx["run_id"],
            "mode": "replay" if replay and start is not None and end is not None else "live",
            "start": start.isoformat() if start is not None else None,
            "end": end.isoformat() if end is not None else None,
            "sources": [{"id": s.id, "host": ingest.page_host(s)} for s in sources],
            "max_pages": params.get("max_pages"),
            "entities": bool(params.get("entities", True)),
            "expected_gap_hours": {s.id: s.expected_gap_hours for s in config.sources},
        }
        log.info("run %s: mode %s, sources %s", cfg["run_id"], cfg["mode"], ", ".join(s.id for s in sources))
        return cfg

    @task(execution_timeout=timedelta(minutes=5))
    def feed_units(cfg: dict[str, Any]) -> list[dict[str, str]]:
        """(source, feed) pairs to fetch; none when replaying a past interval."""
        from pipeline.flows import ingest

        if cfg["mode"] != "live":
            return []
        config = ingest.load_config(cfg["sources_file"])
        units = ingest.plan_feeds(config, [s["id"] for s in cfg["sources"]])
        log.info("%d feeds to fetch", len(units))
        return units

    @task(execution_timeout=timedelta(minutes=5))
    def ensure_index() -> dict[str, Any]:
        from pipeline.flows import ingest

        return ingest.ensure_index(nf.es_url())

    @task(execution_timeout=timedelta(minutes=10), queue=nf.QUEUE_FETCH,
          map_index_template="{{ task.op_kwargs['unit']['source'] }} {{ task.op_kwargs['unit']['feed_url'] }}")
    def fetch_feed(cfg: dict[str, Any], unit: dict[str, str]) -> dict[str, Any]:
        from pipeline.flows import ingest

        return ingest.fetch_feed(sources_file=cfg["sources_file"], archive_root=cfg["archive_root"],
                                 run_id=cfg["run_id"], source_id=unit["source"], feed_url=unit["feed_url"])

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=5))
    def page_units(cfg: dict[str, Any], feed_results: Any, host: str) -> list[dict[str, Any]]:
        """The sources of one host whose pages to fetch, with the item files of their feeds."""
        if cfg["mode"] != "live":
            return []
        results = [r for r in (feed_results or []) if r]
        units = []
        for src in cfg["sources"]:
            if src["host"] != host:
                if src["host"] not in HOSTS:
                    log.error("source %s: host %s has no page task (the DAG was parsed before the sources "
                              "file changed); its pages wait for the next parse", src["id"], src["host"])
                continue
            paths = [r["items_path"] for r in results if r["source"] == src["id"] and r.get("items_path")]
            units.append({"source": src["id"], "items_paths": paths})
        return units

    def fetch_pages(cfg: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
        from pipeline.flows import ingest

        return ingest.fetch_pages(sources_file=cfg["sources_file"], archive_root=cfg["archive_root"],
                                  run_id=cfg["run_id"], source_id=unit["source"], items_paths=unit["items_paths"],
                                  max_pages=cfg.get("max_pages"))

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=45), queue=nf.QUEUE_NER)
    def process(cfg: dict[str, Any], page_results: list[Any]) -> dict[str, Any]:
        from pipeline.flows import ingest

        if cfg["mode"] == "replay":
            replay = ingest.replay_paths(archive_root=cfg["archive_root"], start=datetime.fromisoformat(cfg["start"]),
                                         end=datetime.fromisoformat(cfg["end"]),
                                         source_ids=[s["id"] for s in cfg["sources"]])
            paths, start, end = replay["warc_paths"], cfg["start"], cfg["end"]
        else:
            paths = [p for group in page_results for r in (group or []) if r for p in r["warc_paths"]]
            start = end = None
        return ingest.process(sources_file=cfg["sources_file"], archive_root=cfg["archive_root"],
                              run_id=cfg["run_id"], warc_paths=paths, entities=cfg["entities"], start=start, end=end)

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=30))
    def index(cfg: dict[str, Any]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.flows import ingest

        ti = get_current_context()["ti"]
        if ti.xcom_pull(task_ids="ensure_index") is None:
            raise AirflowFailException("Elasticsearch is not ready (ensure_index failed): the documents stay "
                                       "pending in the archive and the next run indexes them")
        return ingest.index(archive_root=cfg["archive_root"], es_url=nf.es_url(), run_id=cfg["run_id"])

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=5), retries=0)
    def report(cfg: dict[str, Any], units: list[dict[str, str]]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.flows import ingest
        from pipeline.flows.report import build_report

        ti = get_current_context()["ti"]
        feeds = [r for r in ti.xcom_pull(task_ids=["fetch_feed"]) if r]
        pages = [r for r in ti.xcom_pull(task_ids=[f"fetch_pages_{nf.host_key(h)}" for h in HOSTS]) if r]
        processed = ti.xcom_pull(task_ids="process")
        indexed = ti.xcom_pull(task_ids="index")
        failures = []
        if cfg["mode"] == "live":
            done = {r["source"] for r in pages}
            failures += [f"pages of {s['id']}: the fetch_pages task did not finish"
                         for s in cfg["sources"] if s["id"] not in done]
        if processed is None:
            failures.append("process: the task did not finish (see its log)")
        if indexed is None:
            indexed = ingest.index_failed(cfg["archive_root"], "the index task did not finish (see its log)")
        rep = build_report(run_id=cfg["run_id"], planned_feeds=units, feed_results=feeds, page_results=pages,
                           process_result=processed, index_result=indexed, mode=cfg["mode"],
                           interval=(cfg["start"], cfg["end"]) if cfg["mode"] == "replay" else None,
                           expected_gap_hours=cfg["expected_gap_hours"], task_failures=failures)
        started = getattr(get_current_context()["dag_run"], "start_date", None)
        if started is not None:
            rep.elapsed_s = (datetime.now(UTC) - started).total_seconds()
        ingest.save_report(cfg["archive_root"], rep)
        ingest.cleanup_work(cfg["archive_root"])
        log.info("report of run %s\n%s", cfg["run_id"], rep.render())
        for alarm in rep.alarms:
            log.warning("data-quality alarm: %s", alarm)
        for line in rep.degraded:
            log.warning("degraded: %s", line)
        if not rep.ok:
            raise AirflowFailException(f"{len(rep.failures)} failure(s): " + "; ".join(rep.failures))
        return rep.to_dict()

    @task(execution_timeout=timedelta(minutes=5), retries=0)
    def sources_health(summary: dict[str, Any]) -> str:
        """`ok` → success; `degraded` → skipped (the run succeeds), naming each degraded feed."""
        from airflow.sdk.exceptions import AirflowSkipException

        if summary.get("status") == "degraded":
            raise AirflowSkipException("sources degraded: " + "; ".join(summary.get("degraded") or []))
        return str(summary.get("status"))

    cfg = plan()
    units = feed_units(cfg)
    ready = ensure_index()
    feeds = fetch_feed.partial(cfg=cfg).expand(unit=units)
    page_outputs = []
    for host in HOSTS:
        key = nf.host_key(host)
        host_units = page_units.override(task_id=f"page_units_{key}")(cfg, feeds, host)
        pages_task = task(fetch_pages, task_id=f"fetch_pages_{key}", pool=nf.pool_name(host),
                          execution_timeout=timedelta(minutes=45), queue=nf.QUEUE_FETCH,
                          map_index_template="{{ task.op_kwargs['unit']['source'] }}")
        page_outputs.append(pages_task.partial(cfg=cfg).expand(unit=host_units))
    processed = process(cfg, page_outputs)
    indexed = index(cfg)
    processed >> indexed
    ready >> indexed
    summary = report(cfg, units)
    indexed >> summary
    sources_health(summary)


news_ingest_dag = news_ingest()
