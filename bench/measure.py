"""Measuring helpers: a process-tree memory sampler (psutil, /proc) and the ES test double as a
subprocess on 127.0.0.1.

Memory of a process tree is measured two ways: the sum of RSS (what each process maps,
so pages shared between processes — a model inherited by forked workers — are counted once
per process) and the sum of PSS (proportional set size from /proc/<pid>/smaps_rollup: each
shared page divided among the processes sharing it, so the sum is the memory the tree
really uses). The goal is judged on PSS; both are reported."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class MemorySample:
    t: float  # seconds since the sampler started
    rss: int  # bytes, this process and its children (minus the excluded ones)
    progress: int  # caller's counter (documents done) at that moment
    pss: int = 0  # bytes, the same processes' proportional set size (0: not available)


def pss_bytes(pid: int) -> int | None:
    """Proportional set size of a process (Linux ≥ 4.14), None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass
class TreeMemory:
    """Samples the RSS of this process (or `root_pid`) and all its descendants every `interval` s, and their PSS
    every `pss_interval` s (samples in between repeat the last PSS).

    Reading /proc/<pid>/smaps_rollup makes the kernel walk the process's page tables: ~3.5 ms
    for a 360 MB process, ~20 ms for the pipeline's tree, taken from the same 2 cores as the
    run being measured (10% of a core at 0.2 s). Once a second it is 2%; `sampler_cpu_s`
    says what the sampler really cost. With `read_pss` false only RSS is read (PSS reported
    as not available)."""

    interval: float = 0.2
    pss_interval: float = 1.0
    read_pss: bool = True
    root_pid: int | None = None  # the tree's root (default: this process)
    exclude: set[int] = field(default_factory=set)
    samples: list[MemorySample] = field(default_factory=list)
    progress: int = 0
    peak: int = 0
    peak_by_pid: dict[int, int] = field(default_factory=dict)  # each process's own peak RSS
    peak_pss: int = 0
    pss_available: bool = True
    sampler_cpu_s: float = 0.0  # CPU time the sampling thread used (its own cost)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def tree_memory(self, *, pss: bool = True) -> tuple[int, int | None]:
        """(RSS sum, PSS sum or None when `pss` is false) of the tree now, in bytes."""
        try:
            root = psutil.Process(self.root_pid)  # None: this process
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:  # a root that has exited: nothing left to count
            return 0, 0
        total = total_pss = 0
        read_pss = pss and self.pss_available
        for proc in procs:
            if proc.pid in self.exclude:
                continue
            try:
                rss = proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if read_pss:
                proc_pss = pss_bytes(proc.pid)
                if proc_pss is None:
                    continue  # the process ended between the listing and the read
                total_pss += proc_pss
            else:
                total_pss += rss
            total += rss
            self.peak_by_pid[proc.pid] = max(rss, self.peak_by_pid.get(proc.pid, 0))
        return total, (total_pss if read_pss or not self.pss_available else None)

    def __enter__(self) -> TreeMemory:
        self._t0 = time.monotonic()
        self.pss_available = self.read_pss and pss_bytes(os.getpid()) is not None  # Linux ≥ 4.14
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        cpu0 = time.thread_time()
        last_pss, next_pss = 0, 0.0
        while True:
            now = time.monotonic()
            rss, pss = self.tree_memory(pss=now >= next_pss)
            if pss is not None:
                last_pss, next_pss = pss, now + self.pss_interval
                self.peak_pss = max(self.peak_pss, pss)
            self.peak = max(self.peak, rss)
            self.samples.append(MemorySample(now - self._t0, rss, self.progress, last_pss))
            self.sampler_cpu_s = time.thread_time() - cpu0
            if self._stop.wait(self.interval):
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def slope_mb_per_10k(samples: list[MemorySample], *, skip_fraction: float = 0.5,
                     measure: str = "rss") -> float | None:
    """Least-squares slope of memory (`measure`: "rss" or "pss") against documents done,
    after the warm-up (the first `skip_fraction` of the documents), in MB per 10,000 documents."""
    if not samples:
        return None
    last = max(s.progress for s in samples)
    pts = [(s.progress, getattr(s, measure)) for s in samples
           if s.progress >= last * skip_fraction and s.progress > 0]
    if len(pts) < 3 or len({p for p, _ in pts}) < 2:
        return None
    slope = statistics.linear_regression([p for p, _ in pts], [r for _, r in pts]).slope
    return slope * 10_000 / 1e6


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ElasticDouble:
    """`python -m tests.elastic_double --port N` in a subprocess; `url` once it answers."""

    def __init__(self, *, start_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.elastic_double", "--port", str(self.port)],
                                     cwd=str(REPO_ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = (self.proc.stderr.read() if self.proc.stderr else b"").decode("utf-8", "replace")
                raise RuntimeError(f"ES test double exited with {self.proc.returncode}: {err[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                threading.Event().wait(0.05)
        self.close()
        raise RuntimeError(f"ES test double did not listen on {self.url} within {start_timeout:.0f} s")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ElasticDouble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
