"""news_maintenance — rebuild the index from the archive, or replay dead letters (manual).

- **reindex**: create `news-articles-v<N+1>`, index into it the archive's processed documents
  of the range (default: everything), check its count, then swap the read and write aliases
  in one atomic request. Searches keep answering from the old index until the swap; the old
  index stays until `python -m pipeline es-drop-index`. Use it after a mapping change.
  (To re-run *processing* over the raw captures, use news_backfill with target new-version.)
- **replay-dead-letter**: index again the documents of a dead-letter file (after the fix that
  made them fail); what fails again goes to `<file>.replay-<run>.jsonl`. Without a path, every
  dead-letter file of the archive's `dead-letter/` folder is replayed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import _newsflow as nf
from airflow.sdk import Param, dag, get_current_context, task

log = logging.getLogger("newsflow.news_maintenance")

WHEN_PATTERN = r"^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?$"


@dag(
    dag_id="news_maintenance",
    description="Reindex from the archive into a new version with an alias swap; replay dead letters",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=nf.default_args(execution_timeout=timedelta(hours=6)),
    tags=["newsflow", "maintenance"],
    doc_md=__doc__,
    params={
        "action": Param("reindex", type="string", enum=["reindex", "replay-dead-letter"], title="Action"),
        "start": Param("", type="string", pattern=WHEN_PATTERN, title="Start (reindex)",
                       description="YYYY-MM-DD or ISO datetime; empty: the beginning of the archive"),
        "end": Param("", type="string", pattern=WHEN_PATTERN, title="End (reindex)",
                     description="YYYY-MM-DD (included) or ISO datetime (exclusive); empty: now"),
        "dead_letter_path": Param("", type="string", title="Dead-letter file (replay)",
                                  description="empty: every file of <archive>/dead-letter/"),
    },
)
def news_maintenance() -> None:
    @task(retries=0)
    def run_action() -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.flows.backfill import (
            dead_letter_files,
            parse_when,
            reindex_from_archive,
            replay_dead_letters,
        )

        ctx = get_current_context()
        params, run_id = ctx["params"], ctx["run_id"]
        es_url = nf.es_url()
        if not es_url:
            raise AirflowFailException("no Elasticsearch configured (connection elasticsearch_default or ES_URL)")
        archive_root = nf.archive_root()
        if params["action"] == "replay-dead-letter":
            paths = [params["dead_letter_path"]] if params.get("dead_letter_path") else dead_letter_files(archive_root)
            if not paths:
                log.info("no dead-letter file to replay")
                return {"action": "replay-dead-letter", "files": {}}
            return {"action": "replay-dead-letter", "files": replay_dead_letters(es_url, paths, run_id=run_id)}
        try:
            start = parse_when(params["start"], field="start") if params.get("start") else datetime(2000, 1, 1, tzinfo=UTC)
            end = (parse_when(params["end"], field="end", is_end=True) if params.get("end")
                   else datetime.now(UTC) + timedelta(hours=1))
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        if start >= end:
            raise AirflowFailException(f"start ({start.isoformat()}) is after end ({end.isoformat()})")
        return {"action": "reindex", **reindex_from_archive(es_url, archive_root, start=start, end=end, sources=None,
                                                            run_id=run_id)}

    run_action()


news_maintenance_dag = news_maintenance()
