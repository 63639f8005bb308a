"""news_backfill — analysts reprocess or refetch a date range (manual; Params form).

    validate ─► plan_units ─► run_unit[unit] ─► finish
        └─────► prepare_target ──┘

- **start / end**: a date (`2026-01-31`, the whole day) or an ISO datetime (`2026-01-31T12:00Z`,
  UTC unless an offset is given; an end datetime is exclusive).
- **sources**: any of the configured sources (empty: every enabled one).
- **mode**: `reprocess` the archived captures with the current pipeline (fast path), or
  `refetch` the pages known for the range (the archive's seen ledger and the sources' sitemaps).
- **target**: `live` (the write alias) or `new-version` (a new index version, aliases swapped
  when every unit succeeded).
- **dry_run**: the plan only (logged by `validate`); request no page, write nothing.
- **include_gone_refused**: refetch: ask again for URLs known gone, refused or off the domain.
- **allow_long_range**: accept a range over the configured maximum (env NEWSFLOW_BACKFILL_MAX_DAYS,
  default 31 days).

The work is split into units, one mapped task each, retried and logged on their own:
reprocess takes chunks of consecutive UTC days (`unit_days` in the form; its default is env
NEWSFLOW_BACKFILL_UNIT_DAYS, default 7) of every chosen source at once, because each unit loads the NER models (2–4 s) and one day of one
source is only a few seconds of NER; refetch takes one (UTC day, source) per unit. Running it
twice is harmless: ids are stable and unchanged documents count `unchanged`.

Units run on the `ner` queue (CeleryExecutor: any worker listening on it; docs/deployment.md),
at most NEWSFLOW_BACKFILL_PARALLEL_UNITS (default 4) at a time per run; a failed unit is retried
alone, on whichever worker takes it. Each unit tags with a pool of NER processes sized from its
worker host (NEWSFLOW_BACKFILL_WORKERS, default `auto`: pipeline/flows/sizing.py).
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
try:  # the form's default; a bad value is reported by the validate task (unit_days_from_env)
    UNIT_DAYS = nf.env_int("NEWSFLOW_BACKFILL_UNIT_DAYS", 7)
except ValueError:
    UNIT_DAYS = 7
# the Airflow UI's name of a unit: pipeline.flows.backfill.unit_label, in Jinja
UNIT_LABEL = ("{% set u = task.op_kwargs['unit'] %}"
              "{% if u.sources is defined %}{{ u.sources | join(',') }} {{ u.first_day }}"
              "{% if u.last_day != u.first_day %}..{{ u.last_day }}{% endif %}"
              "{% else %}{{ u.source }} {{ u.day }}{% endif %}")
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
        "include_gone_refused": Param(False, type="boolean", title="Refetch known gone and refused URLs",
                                      description="refetch: ask again for URLs known gone (404/410), refused "
                                                  "(robots, too large, not HTML, redirect off the domain) or off "
                                                  "the domain; by default they are skipped and counted"),
        "unit_days": Param(UNIT_DAYS, type="integer", minimum=1, maximum=366, title="Days per unit",
                           description="reprocess: consecutive days per mapped task (each loads the NER models "
                                       f"once; {UNIT_DAYS} days: a year of one source is "
                                       f"{-(-365 // UNIT_DAYS)} units, enough to keep that many worker slots busy)"),
    },
)
def news_backfill() -> None:
    @task(execution_timeout=timedelta(minutes=30), retries=0)
    def validate() -> dict[str, Any]:
        """Check the form; a refused request fails here with the reasons, nothing else runs.
        Then log the plan (for a refetch: per unit, pages to fetch, to revalidate, skipped by reason)."""
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.flows import ingest
        from pipeline.flows.backfill import BackfillError, unit_days_from_env, validate_request

        params = get_current_context()["params"]
        settings = nf.run_settings()
        config = ingest.load_config(settings["sources_file"])
        try:
            request = validate_request(dict(params), known_sources=[s.id for s in config.sources],
                                       enabled_sources=[s.id for s in config.enabled()], max_days=MAX_DAYS)
            unit_days = unit_days_from_env()  # a bad setting is named even when the form gives a value
            unit_days = int(params.get("unit_days") or unit_days)
        except (BackfillError, ValueError) as exc:
            log.error("%s", exc)
            raise AirflowFailException(str(exc)) from None
        from pipeline.archive import Archive
        from pipeline.flows.backfill import describe_plan, plan_units, save_plans, split_units

        run_id = get_current_context()["run_id"]
        include = bool(params.get("include_gone_refused", False))
        units = split_units(request, unit_days=unit_days)
        plans = plan_units(units, config=config, archive=Archive(settings["archive_root"]), run_id=run_id,
                           include_gone_refused=include, write=not request.dry_run) if request.mode == "refetch" else []
        plan = describe_plan(request, units, plans)
        log.info("%s", "\n".join(plan))
        # the units run these plans (the archive holds them; XCom their paths), not plans made again
        plan_paths = save_plans(Archive(settings["archive_root"]), run_id, plans) if plans and not request.dry_run else {}
        return {**settings, "request": request.to_dict(), "entities": bool(params.get("entities", True)),
                "unit_days": unit_days, "run_id": run_id, "include_gone_refused": include, "plan": plan,
                "plan_paths": plan_paths}

    @task(execution_timeout=timedelta(minutes=5))
    def plan_units(cfg: dict[str, Any]) -> list[dict[str, Any]]:
        from pipeline.flows.backfill import request_from_dict, split_units, unit_label

        units = split_units(request_from_dict(cfg["request"]), unit_days=cfg["unit_days"])
        log.info("%d units: %s%s", len(units), unit_label(units[0]) if units else "none",
                 f" … {unit_label(units[-1])}" if len(units) > 1 else "")
        return units

    @task(execution_timeout=timedelta(minutes=10))
    def prepare_target(cfg: dict[str, Any]) -> dict[str, Any]:
        from pipeline.flows.backfill import prepare_target as prepare

        req = cfg["request"]
        return prepare(nf.es_url(), target=req["target"], dry_run=req["dry_run"])

    @task(execution_timeout=timedelta(hours=2), max_active_tis_per_dagrun=nf.env_int("NEWSFLOW_BACKFILL_PARALLEL_UNITS", 4),
          map_index_template=UNIT_LABEL, queue=nf.QUEUE_NER)
    def run_unit(cfg: dict[str, Any], target: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
        from pipeline.archive import Archive
        from pipeline.flows import heap
        from pipeline.flows.backfill import load_plan, request_from_dict
        from pipeline.flows.backfill import run_unit as run

        heap.keep_freed_memory()  # this task's own process tags when the unit has no workers
        plan = load_plan(Archive(cfg["archive_root"]), cfg.get("plan_paths") or {}, unit)
        return run(unit, request_from_dict(cfg["request"]), sources_file=cfg["sources_file"],
                   archive_root=cfg["archive_root"], es_url=nf.es_url() if target.get("index") else None,
                   index_name=target.get("index"), run_id=cfg["run_id"], entities=cfg["entities"],
                   workers=nf.backfill_workers(), include_gone_refused=bool(cfg.get("include_gone_refused")),
                   plan=plan)

    @task(execution_timeout=timedelta(minutes=30))
    def finish(cfg: dict[str, Any], target: dict[str, Any], results: Any) -> dict[str, Any]:
        """Totals of the units; for a new version, check its count and swap the aliases."""
        from pipeline.flows.backfill import finish_target, unit_totals

        results = [r for r in results if r]
        totals = unit_totals(results)
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
