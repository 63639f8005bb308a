"""Per-host politeness inside one process: at most N requests in flight and R per second.

`HostLimiter.slot(host, politeness)` is a context manager around each request (each redirect
hop and each retry attempt): it takes one of the host's concurrency slots, then waits until
`1 / requests_per_second` has passed since the previous request to that host started. A
robots.txt `Crawl-delay` longer than that interval replaces it (`set_min_interval`), and a
server's `Retry-After` on a 429 or 503 holds every request to that host, not only the retried
one (`defer`).
Across processes (Airflow workers) politeness is shared through an Airflow pool per host.

Written by hand (about 40 lines): the libraries for this (pyrate-limiter, limits) model
token buckets keyed by strings but not a per-key concurrency cap, which is half of the job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pipeline.sources import Politeness


class HostLimiter:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self._min_interval: dict[str, float] = {}
        self.waited_seconds = 0.0

    def set_min_interval(self, host: str, seconds: float) -> None:
        with self._lock:
            self._min_interval[host] = max(seconds, self._min_interval.get(host, 0.0))

    def defer(self, host: str, seconds: float) -> None:
        """No request to `host` starts for `seconds` from now (a 429/503 `Retry-After`)."""
        with self._lock:
            until = self._clock() + max(seconds, 0.0)
            self._next_start[host] = max(until, self._next_start.get(host, until))

    def _semaphore(self, host: str, concurrency: int) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._semaphores.get(host)
            if sem is None:
                sem = self._semaphores[host] = threading.BoundedSemaphore(concurrency)
            return sem

    def _reserve(self, host: str, interval: float) -> float:
        """Book the next start time for `host`; return how long the caller must wait."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start.get(host, now))
            interval = max(interval, self._min_interval.get(host, 0.0))
            self._next_start[host] = start + interval
            return start - now

    @contextmanager
    def slot(self, host: str, politeness: Politeness) -> Iterator[None]:
        sem = self._semaphore(host, politeness.concurrency)
        with sem:
            wait = self._reserve(host, 1.0 / politeness.requests_per_second)
            if wait > 0:
                with self._lock:
                    self.waited_seconds += wait
                self._sleep(wait)
            yield
