"""The C heap (glibc malloc) of reprocessing's processes: give freed memory back, or keep it.

Two opposite needs:

- after loading a spaCy model (and dropping its unused components) a process holds freed
  memory that RSS keeps counting: `trim()` gives it back (`malloc_trim`);
- during NER, each batch allocates its activations (tens of MB) as large blocks. glibc serves
  blocks over its mmap threshold (dynamic, at most 32 MB) with fresh mappings and returns the
  top of the heap to the OS when it is freed, so every batch touched fresh pages again: about
  650,000 page faults per worker for 2,000 documents, 1.5–2 s of CPU each (in this VM).
  `keep_freed_memory()` raises both thresholds so the heap keeps its high-water mark and
  reuses it: 40,000 faults, NER alone 5–9% faster, the whole reprocessing path ~10% less CPU.
  The price is that each worker keeps the memory of its largest batch (the pool is replaced
  every `NEWSFLOW_WORKER_RECYCLE_DOCS` documents, which also returns it).

`keep_freed_memory()` is called in reprocessing's worker processes, its model server, the
`reprocess` command's own process and the `news_backfill` DAG's unit tasks, which tag in their
own process by default (processes newsflow owns; a library caller's process is left alone).
`NEWSFLOW_MALLOC_TUNING=0` turns it off. Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import functools
import gc
import logging
from typing import Any

from pipeline.settings import env_switch

log = logging.getLogger(__name__)

ENV_SWITCH = "NEWSFLOW_MALLOC_TUNING"
MMAP_THRESHOLD = 256 << 20  # blocks up to 256 MB come from the heap, not from fresh mappings
TRIM_THRESHOLD = 1 << 30  # the heap top is given back only beyond 1 GB free
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)

_kept = False


@functools.cache
def _libc() -> Any | None:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None  # glibc


def trim(*, collect: bool = False) -> None:
    """Give freed heap pages back to the OS (`malloc_trim`), after a garbage collection if
    `collect`."""
    if collect:
        gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds in this process (and the processes it forks
    later). Returns whether they are raised. Idempotent."""
    global _kept
    if _kept:
        return True
    if not env_switch(ENV_SWITCH):
        return False
    libc = _libc()
    if libc is None:
        return False
    _kept = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(_M_TRIM_THRESHOLD,
                                                                                       TRIM_THRESHOLD))
    if not _kept:
        log.debug("mallopt refused the thresholds: malloc keeps its defaults")
    return _kept


def keeps_freed_memory() -> bool:
    """Whether `keep_freed_memory()` took effect in this process (inherited by a fork too)."""
    return _kept
