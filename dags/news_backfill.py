"""news_backfill — analysts reprocess or refetch a date range (manual; Params form).

    validate ─► plan_units ─► run_unit[day × source] ─► finish
        └─────► prepare_target ──┘

- **start / end**: a date (`2026-01-31`, the whole day) or an ISO datetime (`2026-01-31T12:00Z`,
  UTC unless an offset is given; an end datetime is exclusive).
- **sources**: any of the configured sources (empty: every enabled one).
- **mode**: `reprocess` the archived captures with the current pipeline (fast path), or
  `refetch` the pages known for the range (the archive's seen ledger and the sources' sitemaps).
- **target**: `live` (the write alias) or `new-version` (a new index version, aliases swapped
  when every unit succeeded).
- **dry_run**: count what would be done; write nothing.
- **allow_long_range**: accept a range over the configured maximum (env NEWSFLOW_BACKFILL_MAX_DAYS,
  default 31 days).

The work is split per (UTC day, source), one mapped task each: a year of one source is 365
small tasks, retried and logged on their own. Running it twice is harmless: ids are stable and
unchanged documents count `unchanged`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import _newsflow as nf
from airflow.sdk import Param, dag, get_current_context, task

log = logging.getLogger("newsflow.news_backfill")

SOURCES = nf.parse_time_sources()
SOURCE_IDS = [s["id"] for s in SOURCES]
ENABLED_IDS = [s["id"] for s in SOURCES if s["enabled"]]
MAX_DAYS = nf.env_int("NEWSFLOW_BACKFILL_MAX_DAYS", 31)
WHEN_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


@dag(
    dag_id="news_backfill",
    description="Reprocess or refetch a date range of chosen sources, into the live index or a new version",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=2,
    default_args=nf.default_args(),
    tags=["newsflow", "backfill"],
    doc_md=__doc__,
    params={
        "start": Param(type="string", pattern=WHEN_PATTERN, title="Start",
                       description="YYYY-MM-DD (start of that day) or ISO datetime; UTC unless an offset is given"),
        "end": Param(type="string", pattern=WHEN_PATTERN, title="End",
                     description="YYYY-MM-DD (the whole day included) or ISO datetime (exclusive)"),
        "sources": Param(ENABLED_IDS, type="array", title="Sources", uniqueItems=True,
                         items={"type": "string", **({"enum": SOURCE_IDS} if SOURCE_IDS else {})},
                         examples=SOURCE_IDS, description="Configured sources (empty: every enabled one)"),
        "mode": Param("reprocess", type="string", enum=["reprocess", "refetch"], title="Mode",
                      description="reprocess the archive, or refetch the pages of the range"),
        "target": Param("live", type="string", enum=["live", "new-version"], title="Target",
                        description="the live index, or a new index version swapped in when done"),
        "dry_run": Param(False, type="boolean", title="Dry run", description="count only; write nothing"),
        "allow_long_range": Param(False, type="boolean", title="Allow a long range",
                                  description=f"accept a range over {MAX_DAYS} days"),
        "entities": Param(True, type="boolean", title="Named entities"),
    },
)
def news_backfill() -> None:
    @task(execution_timeout=timedelta(minutes=5), retries=0)
    def validate() -> dict[str, Any]:
        """Check the form; a refused request fails here with the reasons, nothing else runs."""
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.flows import ingest
        from pipeline.flows.backfill import BackfillError, validate_request

        params = get_current_context()["params"]
        settings = nf.run_settings()
        config = ingest.load_config(settings["sources_file"])
        try:
            request = validate_request(dict(params), known_sources=[s.id for s in config.sources],
                                       enabled_sources=[s.id for s in config.enabled()], max_days=MAX_DAYS)
        except BackfillError as exc:
            log.error("%s", exc)
            raise AirflowFailException(str(exc)) from None
        log.info("backfill %s → %s, sources %s, mode %s, target %s%s", request.start.isoformat(),
                 request.end.isoformat(), ", ".join(request.sources), request.mode, request.target,
                 " (dry run)" if request.dry_run else "")
        return {**settings, "request": request.to_dict(), "entities": bool(params.get("entities", True)),
                "run_id": get_current_context()["run_id"]}

    @task(execution_timeout=timedelta(minutes=5))
    def plan_units(cfg: dict[str, Any]) -> list[dict[str, str]]:
        from pipeline.flows.backfill import request_from_dict, split_units

        units = split_units(request_from_dict(cfg["request"]))
        log.info("%d units (day × source)", len(units))
        return units

    @task(execution_timeout=timedelta(minutes=10))
    def prepare_target(cfg: dict[str, Any]) -> dict[str, Any]:
        from pipeline.flows.backfill import prepare_target as prepare

        req = cfg["request"]
        return prepare(nf.es_url(), target=req["target"], dry_run=req["dry_run"])

    @task(execution_timeout=timedelta(hours=2), max_active_tis_per_dagrun=4,
          map_index_template="{{ task.op_kwargs['unit']['source'] }} {{ task.op_kwargs['unit']['day'] }}")
    def run_unit(cfg: dict[str, Any], target: dict[str, Any], unit: dict[str, str]) -> dict[str, Any]:
        from pipeline.flows.backfill import request_from_dict
        from pipeline.flows.backfill import run_unit as run

        return run(unit, request_from_dict(cfg["request"]), sources_file=cfg["sources_file"],
                   archive_root=cfg["archive_root"], es_url=nf.es_url() if target.get("index") else None,
                   index_name=target.get("index"), run_id=cfg["run_id"], entities=cfg["entities"],
                   workers=nf.env_int("NEWSFLOW_BACKFILL_WORKERS", 0))

    @task(execution_timeout=timedelta(minutes=30))
    def finish(cfg: dict[str, Any], target: dict[str, Any], results: Any) -> dict[str, Any]:
        """Totals of the units; for a new version, check its count and swap the aliases."""
        from pipeline.flows.backfill import finish_target

        results = [r for r in results if r]
        totals: dict[str, int] = {}
        for r in results:
            for key in ("captures", "documents", "errors", "urls", "pages_fetched"):
                totals[key] = totals.get(key, 0) + int(r.get(key) or 0)
            for key, value in (r.get("indexed") or {}).items():
                totals[f"indexed_{key}"] = totals.get(f"indexed_{key}", 0) + int(value)
        log.info("backfill done: %d units; %s", len(results), ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
        written = totals.get("indexed_created", 0) + totals.get("indexed_updated", 0) + totals.get("indexed_unchanged", 0)
        swapped = finish_target(nf.es_url(), target, documents=written)
        return {"units": len(results), "totals": totals, **swapped}

    cfg = validate()
    units = plan_units(cfg)
    target = prepare_target(cfg)
    done = run_unit.partial(cfg=cfg, target=target).expand(unit=units)
    finish(cfg, target, done)


news_backfill_dag = news_backfill()
