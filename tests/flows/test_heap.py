"""glibc malloc settings of reprocessing's processes (pipeline/flows/heap.py): with them, memory
freed after a large allocation is reused instead of faulted in again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.flows import heap

PROBE = """
import json, resource, sys
import numpy as np
from pipeline.flows import heap
kept = heap.keep_freed_memory() if sys.argv[1] == "keep" else False
np.ones(8 << 20)  # 64 MB once: the heap grows (or a mapping is made) a first time
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    np.ones(8 << 20).sum()  # 64 MB, freed at once: what each NER batch does with its activations
print(json.dumps({"kept": kept, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""

pytestmark = pytest.mark.skipif(heap._libc() is None, reason="not glibc")


def probe(mode: str, **env: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}, cwd=os.getcwd())
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_freed_memory_is_reused_not_faulted_in_again() -> None:
    default = probe("default")
    kept = probe("keep")
    # ten fresh 64 MB blocks fault in at least 10 × 32 pages, even as 2 MB huge pages
    assert kept["kept"] is True
    assert int(default["faults"]) >= 320  # glibc gives each block back: faulted in again
    assert int(kept["faults"]) * 20 < int(default["faults"])  # reused


def test_switched_off_by_the_environment() -> None:
    off = probe("keep", NEWSFLOW_MALLOC_TUNING="0")
    assert off["kept"] is False
    assert int(off["faults"]) >= 320
