"""`python -m pipeline backfill --from DATE --to DATE [--source ID …] [--mode reprocess|refetch]
[--dry-run] …`: the command-line twin of the `news_backfill` form, with the same functions
(`validate_request`, `split_units`, `run_unit` of pipeline/flows/backfill.py).

The plan is printed before any unit runs: the units, and for a refetch, per unit, how many
pages will be fetched, how many revalidated with a conditional request, and how many skipped
by reason (pipeline/flows/refetch_plan.py). `--dry-run` prints the plan and stops (a reprocess
dry run also counts each unit's captures, writing nothing, as the DAG's does).

Exit codes: 0 done, 1 a unit failed (the others ran; each failure is named), 2 the request
is refused (every problem named by its form field) or the sources file is unusable.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.flows.backfill import BackfillRequest
    from pipeline.flows.ingest import IngestConfig
    from pipeline.flows.refetch_plan import RefetchPlan

log = logging.getLogger(__name__)


def _form(args: argparse.Namespace) -> dict[str, Any]:
    """The command's options in the form's terms (so validate_request's messages apply as they are)."""
    return {"start": args.date_from, "end": args.date_to, "sources": args.source_ids or [], "mode": args.mode,
            "target": args.target, "dry_run": args.dry_run, "allow_long_range": args.allow_long_range,
            "unit_days": args.unit_days}


def run(args: argparse.Namespace) -> int:
    from pipeline.archive import Archive
    from pipeline.flows import backfill
    from pipeline.flows.ingest import IngestConfig, IngestError, load_config
    from pipeline.settings import env_int

    cfg = IngestConfig.resolve(sources_file=args.sources, archive_root=args.archive, es_url=args.es_url,
                               no_index=args.no_index)
    try:
        config = load_config(cfg.sources_file)
        request = backfill.validate_request(
            _form(args), known_sources=[s.id for s in config.sources],
            enabled_sources=[s.id for s in config.enabled()],
            max_days=env_int("NEWSFLOW_BACKFILL_MAX_DAYS", backfill.DEFAULT_MAX_DAYS, minimum=1,
                             expected="the longest range in days accepted without --allow-long-range"))
        unit_days = args.unit_days or backfill.unit_days_from_env()
    except (IngestError, backfill.BackfillError, ValueError) as exc:
        print(f"backfill: {exc}", file=sys.stderr)
        return 2
    run_id = f"backfill-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    units = backfill.split_units(request, unit_days=unit_days)
    archive = Archive(cfg.archive_root)
    plans = backfill.plan_units(units, config=config, archive=archive, run_id=run_id,
                                include_gone_refused=args.include_gone_refused,
                                write=not request.dry_run) if request.mode == "refetch" else []
    for line in backfill.describe_plan(request, units, plans):
        print(line, flush=True)
    if request.dry_run and request.mode == "refetch":  # the plan is the whole of it
        print("dry run: nothing requested, nothing written")
        return 0
    return _run_units(units, plans, request, cfg=cfg, run_id=run_id, args=args)


def _run_units(units: list[dict[str, Any]], plans: list[RefetchPlan], request: BackfillRequest, *,
               cfg: IngestConfig, run_id: str, args: argparse.Namespace) -> int:
    from pipeline.flows import backfill

    target = backfill.prepare_target(cfg.es_url, target=request.target, dry_run=request.dry_run)
    results, failures = [], []
    for i, unit in enumerate(units):
        try:
            results.append(backfill.run_unit(unit, request, sources_file=cfg.sources_file,
                                             archive_root=cfg.archive_root,
                                             es_url=cfg.es_url if target.get("index") else None,
                                             index_name=target.get("index"), run_id=run_id,
                                             entities=not args.no_entities, workers=0,
                                             include_gone_refused=args.include_gone_refused,
                                             plan=plans[i] if plans else None))
        except Exception as exc:  # one unit's trouble does not stop the others; it is named
            log.exception("unit %s failed", backfill.unit_label(unit))
            failures.append(f"{backfill.unit_label(unit)}: {type(exc).__name__}: {exc}")
    totals = backfill.unit_totals(results)
    print("done: " + (", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "nothing to do"))
    if not failures:
        written = sum(totals.get(f"indexed_{k}", 0) for k in ("created", "updated", "unchanged"))
        backfill.finish_target(cfg.es_url, target, documents=written)
    for failure in failures:
        print(f"FAILURE: unit {failure}")
    return 1 if failures else 0
