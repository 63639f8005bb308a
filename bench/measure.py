"""Measuring helpers: a process-tree RSS sampler (psutil) and the ES test double as a
subprocess on 127.0.0.1."""

from __future__ import annotations

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


@dataclass
class TreeMemory:
    """Samples the RSS of this process and all its descendants every `interval` seconds."""

    interval: float = 0.2
    exclude: set[int] = field(default_factory=set)
    samples: list[MemorySample] = field(default_factory=list)
    progress: int = 0
    peak: int = 0
    peak_by_pid: dict[int, int] = field(default_factory=dict)  # each process's own peak RSS
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def tree_rss(self) -> int:
        root = psutil.Process()
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            if proc.pid in self.exclude:
                continue
            try:
                rss = proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += rss
            self.peak_by_pid[proc.pid] = max(rss, self.peak_by_pid.get(proc.pid, 0))
        return total

    def __enter__(self) -> TreeMemory:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            rss = self.tree_rss()
            self.peak = max(self.peak, rss)
            self.samples.append(MemorySample(time.monotonic() - self._t0, rss, self.progress))
            if self._stop.wait(self.interval):
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def slope_mb_per_10k(samples: list[MemorySample], *, skip_fraction: float = 0.5) -> float | None:
    """Least-squares slope of RSS against documents done, after the warm-up (the first
    `skip_fraction` of the documents), in MB per 10,000 documents."""
    if not samples:
        return None
    last = max(s.progress for s in samples)
    pts = [(s.progress, s.rss) for s in samples if s.progress >= last * skip_fraction and s.progress > 0]
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
