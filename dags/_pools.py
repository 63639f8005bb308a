"""The Airflow pools of the newsflow DAGs: one per host that pages are fetched from.

    python dags/_pools.py > pools.json && airflow pools import pools.json

prints the pools of the sources file ($NEWSFLOW_SOURCES or config/sources.yaml) in the format
of `airflow pools import`; importing again updates the slots (idempotent). Slots = the
source's `politeness.concurrency` (the largest one when several sources share a host).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.flows.ingest import host_pools, load_config


def main(argv: list[str]) -> int:
    sources = argv[1] if len(argv) > 1 else None
    if sources is None:
        import _newsflow

        sources = _newsflow.parse_time_sources_file()
    print(json.dumps(host_pools(load_config(sources)), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
