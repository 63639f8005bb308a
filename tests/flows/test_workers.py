"""Reprocessing's worker processes: forked from a server that preloaded the models; batches
prepared by the main thread while they start, and pools replaced by fresh ones every N
documents, give the same documents, and every worker exits."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psutil
import pytest

from pipeline.flows import reprocess as reprocess_module
from pipeline.flows.reprocess import ENV_WORKER_RECYCLE_DOCS, ReprocessError, worker_recycle_docs
from pipeline.flows.workers import start_method, start_workers, wait_stopped
from pipeline.models import Capture, Document
from pipeline.settings import ENV_MP_START
from tests.conftest import REPO_ROOT
from tests.flows.conftest import END, START, SmallArchive


def _loaded_models() -> list[str]:
    """Runs in a worker: the spaCy models already in memory when the task starts."""
    from pipeline.process import entities

    return sorted(entities._model_cache)


def _warmed_up() -> dict[str, bool]:
    """Runs in a worker: what the preload's warm-up page built before the fork (checked
    without importing anything)."""
    import sys

    trafilatura_external = sys.modules.get("trafilatura.external")
    import gc

    return {"extraction imported": "pipeline.process.extract" in sys.modules,
            "justext stoplists": getattr(trafilatura_external, "JT_STOPLIST", None) is not None,
            "garbage collector on": gc.isenabled()}  # paused during the preload only


def test_start_method_defaults_to_forkserver_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(ENV_MP_START, raising=False)
    assert start_method() == "forkserver"
    monkeypatch.setenv(ENV_MP_START, "spawn")
    assert start_method() == "spawn"
    start = start_workers()
    assert (start.method, start.preloaded) == ("spawn", False)
    start.close()  # nothing to stop
    monkeypatch.setenv(ENV_MP_START, "teleport")
    with caplog.at_level(logging.WARNING, logger="pipeline.settings"):
        assert start_method() == "spawn"
    assert "NEWSFLOW_MP_START=teleport is not a start method" in caplog.text


@pytest.mark.slow  # the server loads the spaCy model
def test_workers_start_with_the_model_loaded_and_the_server_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    from multiprocessing import forkserver

    monkeypatch.delenv(ENV_MP_START, raising=False)
    start = start_workers()
    assert (start.method, start.preloaded) == ("forkserver", True)
    server_pid = forkserver._forkserver._forkserver_pid
    try:
        with ProcessPoolExecutor(2, mp_context=start.context) as pool:
            assert [f.result() for f in [pool.submit(_loaded_models) for _ in range(2)]] == [["fr_core_news_md"]] * 2
            assert pool.submit(_warmed_up).result() == {"extraction imported": True, "justext stoplists": True,
                                                          "garbage collector on": True}
    finally:
        start.close()
    assert server_pid is not None and not psutil.pid_exists(server_pid)
    assert forkserver._forkserver._forkserver_pid is None
    assert forkserver._forkserver._preload_modules != ["pipeline.flows.worker_preload"]  # restored


@pytest.mark.slow  # two servers load the spaCy model
def test_a_server_closed_without_waiting_is_gone_before_the_next_one_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from multiprocessing import forkserver

    monkeypatch.delenv(ENV_MP_START, raising=False)
    first = start_workers()
    old_pid = forkserver._forkserver._forkserver_pid
    first.context.Process(target=int).start()  # connects to the server: waits for its preload
    first.close(wait=False)  # returns while the server exits
    second = start_workers()  # waits for the first server's exit, then starts a preloaded one
    try:
        assert old_pid is not None and not psutil.pid_exists(old_pid)
        assert second.preloaded and forkserver._forkserver._forkserver_pid not in (None, old_pid)
    finally:
        second.close()
    assert forkserver._forkserver._forkserver_pid is None


@pytest.mark.slow
def test_a_failed_preload_leaves_the_workers_to_load_lazily(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv(ENV_MP_START, raising=False)
    monkeypatch.setenv("NEWSFLOW_SOURCES", str(tmp_path / "missing.yaml"))  # the server inherits it
    start = start_workers()
    try:
        with ProcessPoolExecutor(1, mp_context=start.context) as pool:
            assert pool.submit(_loaded_models).result() == []
            # the chain's warm-up comes before the sources are read: it does not depend on them
            assert pool.submit(_warmed_up).result() == {"extraction imported": True, "justext stoplists": True,
                                                          "garbage collector on": True}
    finally:
        start.close()


@pytest.mark.slow  # a pool of 2 workers
def test_batches_prepared_while_the_workers_start_give_the_same_documents(
        small_archive: SmallArchive, source_configs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.process.chain import process_captures

    in_range = [c for c in small_archive.archive.iter_captures(start=START, end=END) if c.is_page_body]
    expected = [r.document.to_dict() for r in process_captures(in_range, sources=source_configs, run_id="same-run")
                if r.document is not None]

    all_read = threading.Event()  # the workers "start" only once every batch was read
    real_batches = reprocess_module._batches

    def batches(captures: Iterator[Any], size: int, **options: Any) -> Iterator[list[Any]]:
        yield from real_batches(captures, size, **options)
        all_read.set()

    class SlowStarter(reprocess_module._PoolStarter):
        def _run(self) -> None:
            all_read.wait(120)
            super()._run()

    prepared: list[int] = []
    real_prepare = reprocess_module._prepare_batch

    def prepare(batch: list[Any], sources: Any, **options: Any) -> tuple[list[Any], list[Any]]:
        out, rest = real_prepare(batch, sources, **options)
        assert rest == []  # the workers start after the last batch was read
        prepared.append(len(out))
        assert all(p.capture.body == b"" for p in out)  # bodies are not shipped to the workers
        return out, rest

    monkeypatch.setattr(reprocess_module, "_batches", batches)
    monkeypatch.setattr(reprocess_module, "_PoolStarter", SlowStarter)
    monkeypatch.setattr(reprocess_module, "_prepare_batch", prepare)
    docs: list[Document] = []
    report = reprocess_module.reprocess(small_archive.archive, start=START, end=END, progress=False,
                                        source_configs=source_configs, workers=2, batch_size=2,
                                        run_id="same-run", on_batch=docs.extend)
    batches = list(reprocess_module._batches(iter(in_range), 2,
                                             last_pieces=2 * reprocess_module.LAST_PIECES_PER_WORKER))
    assert sum(prepared) == report.captures == len(in_range) and len(prepared) == len(batches)
    assert [d.to_dict() for d in docs] == expected


@pytest.mark.slow  # a pool of 2 workers
def test_workers_that_come_up_in_the_middle_of_a_prepared_batch_take_the_rest_of_it(
        small_archive: SmallArchive, source_configs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.process.chain as chain

    in_range = [c for c in small_archive.archive.iter_captures(start=START, end=END) if c.is_page_body]
    expected = [r.document.to_dict() for r in chain.process_captures(in_range, sources=source_configs,
                                                                     run_id="same-run") if r.document is not None]
    go = threading.Event()
    starters: list[reprocess_module._PoolStarter] = []

    class HeldStarter(reprocess_module._PoolStarter):
        def __init__(self, pool: Any) -> None:
            starters.append(self)
            super().__init__(pool)

        def _run(self) -> None:
            go.wait(120)
            super()._run()

    real_prepare_captures = chain.prepare_captures
    prepared: list[str] = []

    def prepare_captures(captures: Any, **options: Any) -> list[Any]:
        out = real_prepare_captures(captures, **options)
        prepared.extend(p.capture.url for p in out)
        if len(prepared) == 3:  # the workers come up now: before the 4th capture of the 1st batch
            go.set()
            assert starters[0].ready.wait(120)
        return out

    monkeypatch.setattr(reprocess_module, "_PoolStarter", HeldStarter)
    monkeypatch.setattr(chain, "prepare_captures", prepare_captures)
    docs: list[Document] = []
    reprocess_module.reprocess(small_archive.archive, start=START, end=END, progress=False,
                               source_configs=source_configs, workers=2, batch_size=4,
                               run_id="same-run", on_batch=docs.extend)
    assert prepared == [c.url for c in in_range[:3]]  # the rest of the batch went to the workers whole
    assert [d.to_dict() for d in docs] == expected


def test_preparing_a_batch_stops_where_it_is_told() -> None:
    calls = iter([False, False, True])
    captures = [Capture(url=f"https://x.invalid/{k}", final_url=None, fetched_at=datetime(2022, 1, 13, tzinfo=UTC),
                        status=200, body=b"<html><p>x</p></html>", kind="page", source="none")
                for k in range(5)]
    done, rest = reprocess_module._prepare_batch(captures, None, stop=lambda: next(calls))
    assert [p.capture.url for p in done] == [c.url for c in captures[:2]] and rest == captures[2:]
    assert all(p.capture.body == b"" for p in done)
    assert reprocess_module._prepare_batch(captures[:1], None)[1] == []


# --------------------------------------------------------------------------- worker recycling
_REAL_PROCESS_BATCH = reprocess_module._process_batch  # imported in the workers too: the real ones
_REAL_FINISH_BATCH = reprocess_module._finish_batch
_FAIL_ENV = "NEWSFLOW_TEST_FAIL_BATCH"  # "raise URL" / "kill URL": the worker given URL's batch fails


class _FromWorker(list):  # type: ignore[type-arg]
    """A batch's results, with the PID of the worker that made them."""

    pid = 0


def _from_worker(results: list[Any]) -> _FromWorker:
    out = _FromWorker(results)
    out.pid = os.getpid()
    return out


def _process_batch_with_pid(captures: list[Any]) -> _FromWorker:
    how, _, url = os.environ.get(_FAIL_ENV, "").partition(" ")
    if url and any(c.url == url for c in captures):
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("batch failed on purpose")
    return _from_worker(_REAL_PROCESS_BATCH(captures))


def _finish_batch_with_pid(prepared: list[Any]) -> _FromWorker:
    return _from_worker(_REAL_FINISH_BATCH(prepared))


def _watch_workers(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], set[int]]:
    """The PIDs of the workers that made each batch, in order, and every process below this
    one seen after each submission (a pool starts a worker when a batch is submitted to it)."""
    pids: list[int] = []
    seen: set[int] = set()
    real_result = reprocess_module._result
    real_submit = reprocess_module._Pools.submit

    def result(item: Any) -> Any:
        out = real_result(item)
        pids.append(out.pid)
        return out

    def submit(self: Any, *args: Any, **kwargs: Any) -> Any:
        future = real_submit(self, *args, **kwargs)
        seen.update(p.pid for p in psutil.Process().children(recursive=True))
        return future

    monkeypatch.setattr(reprocess_module._Pools, "submit", submit)
    monkeypatch.setattr(reprocess_module, "_process_batch", _process_batch_with_pid)
    monkeypatch.setattr(reprocess_module, "_finish_batch", _finish_batch_with_pid)
    monkeypatch.setattr(reprocess_module, "_result", result)
    return pids, seen


def _alive(pids: set[int]) -> list[int]:
    """Those still running, but multiprocessing's resource tracker (one per test process)."""
    from multiprocessing import resource_tracker

    alive = []
    for pid in pids - {resource_tracker._resource_tracker._pid}:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _own_forkserver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers forked from a server the run starts with the preload (recycling needs it)."""
    from multiprocessing import forkserver

    monkeypatch.delenv(ENV_MP_START, raising=False)
    wait_stopped()  # runs close their server without waiting for it to exit
    assert forkserver._forkserver._forkserver_pid is None, "a forkserver left running by another test"


def test_the_recycle_period_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                       small_archive: SmallArchive,
                                                       source_configs: dict[str, Any]) -> None:
    monkeypatch.delenv(ENV_WORKER_RECYCLE_DOCS, raising=False)
    assert worker_recycle_docs() == reprocess_module.WORKER_RECYCLE_DOCS == 4000
    for value, expected in (("0", 0), (" 250 ", 250)):
        monkeypatch.setenv(ENV_WORKER_RECYCLE_DOCS, value)
        assert worker_recycle_docs() == expected
    for bad in ("lots", "-1", "2.5"):
        monkeypatch.setenv(ENV_WORKER_RECYCLE_DOCS, bad)
        with pytest.raises(ReprocessError, match=rf"NEWSFLOW_WORKER_RECYCLE_DOCS='{bad}': expected a number "
                                                 r"of documents \(a whole number ≥ 0"):
            reprocess_module.reprocess(small_archive.archive, start=START, end=END, progress=False,
                                       source_configs=source_configs, workers=2)  # fails before any work
    assert small_archive.archive.document_paths(start=START, end=END) == []


def test_a_pool_is_replaced_every_n_documents_but_not_while_it_starts() -> None:
    made: list[ThreadPoolExecutor] = []

    def make() -> ThreadPoolExecutor:
        made.append(ThreadPoolExecutor(1))
        return made[-1]

    pools = reprocess_module._Pools(make, recycle_docs=4)  # type: ignore[arg-type]
    futures = [pools.submit(len, [0] * 3, may_recycle=False) for _ in range(3)]  # prepared at start
    futures += [pools.submit(len, [0] * 2) for _ in range(5)]
    pools.close()
    assert [f.result() for f in futures] == [3] * 3 + [2] * 5
    assert pools.recycles == 3 and len(made) == 4  # 9 prepared, then 2 | 2 + 2 | 2 + 2
    assert all(p._shutdown for p in made)

    never = reprocess_module._Pools(make, recycle_docs=0)  # type: ignore[arg-type]
    for _ in range(10):
        never.submit(len, [0] * 100)
    never.close()
    assert never.recycles == 0 and len(made) == 5


def test_the_batches_in_flight_are_finished_before_a_new_pool_starts() -> None:
    """Two pools' workers never run at once (their heaps would add up)."""
    events: list[str] = []
    pending: list[Future[int]] = []
    release = threading.Event()  # a batch runs until its pool is asked to shut down

    def batch(items: list[int]) -> int:
        assert release.wait(timeout=30), "never released"
        return len(items)

    class Pool(ThreadPoolExecutor):
        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            release.set()
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
            release.clear()
            events.append("old pool shut down")

    def make() -> ThreadPoolExecutor:
        events.append(f"new pool ({sum(not f.done() for f in pending)} batches of the old one running)")
        return Pool(1)

    pools = reprocess_module._Pools(make, recycle_docs=2)  # type: ignore[arg-type]
    for _ in range(3):
        pending.append(pools.submit(batch, [0, 0]))
    pools.close()
    assert [f.result() for f in pending] == [2, 2, 2]
    assert events == ["new pool (0 batches of the old one running)", "old pool shut down",
                      "new pool (0 batches of the old one running)", "old pool shut down",
                      "new pool (0 batches of the old one running)", "old pool shut down"]


@pytest.mark.slow  # a forkserver that loads the spaCy model, and 5 pools forked from it
def test_recycled_workers_give_the_same_documents_in_order_and_all_exit(
        small_archive: SmallArchive, source_configs: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    inline: list[Document] = []
    reprocess_module.reprocess(small_archive.archive, start=START, end=END, progress=False,
                               source_configs=source_configs, workers=0, batch_size=2, run_id="same-run",
                               on_batch=inline.extend)
    assert len(inline) == 7

    _own_forkserver(monkeypatch)
    monkeypatch.setenv(ENV_WORKER_RECYCLE_DOCS, "2")  # a fresh pool for every batch of 2
    monkeypatch.setattr(reprocess_module, "PREPARE_WHILE_STARTING", 1)  # the 1st batch, while it starts
    monkeypatch.setattr(reprocess_module, "LAST_PIECES_PER_WORKER", 0)  # batches of 2 to the end
    pids, seen = _watch_workers(monkeypatch)
    docs: list[Document] = []
    with caplog.at_level(logging.INFO, logger="pipeline.flows.reprocess"):
        report = reprocess_module.reprocess(small_archive.archive, start=START, end=END, progress=False,
                                            source_configs=source_configs, workers=2, batch_size=2,
                                            run_id="same-run", on_batch=docs.extend)
    assert [d.to_dict() for d in docs] == [d.to_dict() for d in inline]
    # 8 page bodies (the 404 is skipped): 4 batches of 2
    assert len(pids) == 4 and len(set(pids)) == 4 > report.workers  # each batch in a pool of its own
    assert report.worker_recycles == report.to_dict()["worker_recycles"] == 3
    assert "workers replaced 3 times" in report.summary()
    assert "reprocess: workers replaced after 2 documents (1st time)" in caplog.text
    assert "(3rd time)" in caplog.text
    assert len(seen | set(pids)) >= 5  # the server and 4 workers, at least
    wait_stopped()  # reprocess returns while its server exits
    assert _alive(seen | set(pids)) == []  # every one exited


@pytest.mark.slow  # a forkserver that loads the spaCy model
@pytest.mark.parametrize("failure", ["raise", "kill"])
def test_a_failing_batch_shuts_every_pool_down(failure: str, small_archive: SmallArchive,
                                               source_configs: dict[str, Any],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [c for c in small_archive.archive.iter_captures(start=START, end=END) if c.is_page_body]
    _own_forkserver(monkeypatch)
    monkeypatch.setenv(_FAIL_ENV, f"{failure} {pages[6].url}")  # the 4th batch of 2, in the 4th pool
    monkeypatch.setenv(ENV_WORKER_RECYCLE_DOCS, "2")
    monkeypatch.setattr(reprocess_module, "PREPARE_WHILE_STARTING", 0)
    monkeypatch.setattr(reprocess_module, "LAST_PIECES_PER_WORKER", 0)  # batches of 2 to the end
    pids, seen = _watch_workers(monkeypatch)
    expected = "a worker process died" if failure == "kill" else "batch failed on purpose"
    with pytest.raises(RuntimeError, match=expected) as caught:
        reprocess_module.reprocess(small_archive.archive, start=START, end=END, progress=False,
                                   source_configs=source_configs, workers=2, batch_size=2)
    assert isinstance(caught.value, ReprocessError) == (failure == "kill")
    assert len(set(pids)) == 3  # the first three batches, from three pools
    assert len(seen | set(pids)) >= 5  # the server and the workers of 4 pools, at least
    wait_stopped()
    assert _alive(seen | set(pids)) == []


MAIN_SCRIPT = '''
import sys
if __name__ != "__main__":  # imported again by multiprocessing as __mp_main__: an Airflow task's
    raise RuntimeError("the main script was imported by a worker process")  # `airflow` fails here
from concurrent.futures import ProcessPoolExecutor
import os
from pipeline.flows.workers import start_workers
start = start_workers()
try:
    with ProcessPoolExecutor(max_workers=1, mp_context=start.context) as pool:
        print("worker", pool.submit(os.getpid).result(timeout=120) != os.getpid())
finally:
    start.close()
'''


def test_the_server_never_imports_the_callers_main_script(tmp_path: Any) -> None:
    """An Airflow task's main script is the `airflow` command, which cannot be imported again in
    a task's environment: the forkserver must not re-run it (it did: the pool broke at once)."""
    import subprocess
    import sys

    script = tmp_path / "task_main.py"
    script.write_text(MAIN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NEWSFLOW_MP_START": "forkserver"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "worker True"


FORKED_TASK_SCRIPT = '''
import multiprocessing, os
from concurrent.futures import ProcessPoolExecutor
import billiard
from pipeline.flows.workers import inherited_daemon_flag

def executor_worker():
    # a daemonic pool process of Celery's (billiard): its own flag stays
    print("worker", inherited_daemon_flag(), multiprocessing.current_process().daemon, flush=True)
    pid = os.fork()  # as Airflow's supervisor forks the task process
    if pid == 0:
        code = 1
        try:
            cleared = inherited_daemon_flag()
            ctx = multiprocessing.get_context("forkserver")  # the pool's start method: pickles the process
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                other = pool.submit(os.getpid).result(timeout=60) != os.getpid()
            print("task", cleared, other, flush=True)
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)

if __name__ == "__main__":
    p = billiard.Process(target=executor_worker, daemon=True)
    p.start()
    p.join(120)
'''


def test_a_task_forked_from_a_daemonic_executor_process_may_start_its_pool(tmp_path: Any) -> None:
    """Celery's pool processes (billiard) are daemonic and Airflow forks each task from one: the
    task becomes a main process of its own (its forkserver pool starts: a daemonic flag refused
    it, billiard's authkey refused to be pickled); the pool process keeps its own."""
    import subprocess
    import sys

    script = tmp_path / "forked_task.py"
    script.write_text(FORKED_TASK_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == ["worker False True", "task True True"]
