"""The NER pool of one backfill unit, sized from the worker host (pipeline/flows/sizing.py)."""

from __future__ import annotations

import pytest

from pipeline.flows.sizing import Host, backfill_workers, pool_size


@pytest.mark.parametrize(("host", "slots", "expected"), [
    (Host(cpus=2, available_mb=8000), 1, 2),     # one slot: every core
    (Host(cpus=2, available_mb=8000), 2, 0),     # two slots on 2 cores: one each, in the task's process
    (Host(cpus=16, available_mb=64000), 2, 8),   # cores shared between the slots
    (Host(cpus=16, available_mb=4000), 1, 4),    # memory bounds it: (4000-512)//700
    (Host(cpus=16, available_mb=4000), 2, 2),    # two slots never overcommit: 2×2×700 ≤ 3488
    (Host(cpus=8, available_mb=600), 1, 0),      # no room for a pool at all
])
def test_pool_size_uses_the_cores_without_overcommitting_memory(host: Host, slots: int, expected: int) -> None:
    n = pool_size(host, slots=slots)
    assert n == expected
    assert slots * max(n, 1) <= max(host.cpus, slots)
    if n:
        assert slots * n * 700 <= host.available_mb - 512


def test_auto_reads_the_worker_slots_and_a_number_overrides() -> None:
    host = Host(cpus=8, available_mb=32000)
    assert backfill_workers({}, host) == 8
    assert backfill_workers({"NEWSFLOW_BACKFILL_WORKERS": "auto", "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4"}, host) == 2
    assert backfill_workers({"NEWSFLOW_WORKER_SLOTS": "2", "AIRFLOW__CELERY__WORKER_CONCURRENCY": "16"}, host) == 4
    assert backfill_workers({"NEWSFLOW_BACKFILL_WORKERS": "3"}, host) == 3
    assert backfill_workers({"NEWSFLOW_NER_PROCESS_MB": "4000"}, host) == 7


@pytest.mark.parametrize(("env", "named"), [
    ({"NEWSFLOW_BACKFILL_WORKERS": "many"}, "NEWSFLOW_BACKFILL_WORKERS='many'"),
    ({"NEWSFLOW_WORKER_SLOTS": "0"}, "NEWSFLOW_WORKER_SLOTS='0'"),
    ({"NEWSFLOW_NER_PROCESS_MB": "1"}, "NEWSFLOW_NER_PROCESS_MB='1'"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        backfill_workers(env, Host(cpus=2, available_mb=8000))
