"""Airflow plugin: Kibana links for the newsflow DAGs.

- On every task instance of news_ingest, news_backfill and news_maintenance, an extra link
  "Kibana: documents of this run" opens Discover on the `news-articles` data view filtered
  to `run_id:"<the run>"` (every document carries the id of the run that wrote it), over the
  time window of the run when its id carries a date, else the last 30 days.
- In Airflow's navigation, "News dashboard (Kibana)" opens the dashboard shipped in
  kibana/saved_objects.ndjson.

`KIBANA_URL` (e.g. `http://localhost:5601`) configures both; without it the plugin adds
nothing. The plugin must be in the plugins folder of the API server (links are computed
there, from the task instance's key: no database or network access).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

NEWSFLOW_DAGS = frozenset({"news_ingest", "news_backfill", "news_maintenance"})
DATA_VIEW_ID = "newsflow-news-articles"  # kibana/saved_objects.ndjson
DASHBOARD_ID = "newsflow-dashboard-news"
_RUN_DATE = re.compile(r"__(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?)")


def kibana_url() -> str | None:
    value = (os.environ.get("KIBANA_URL") or "").strip().rstrip("/")
    return value or None


def rison_string(value: str) -> str:
    """A string in Rison (Kibana's URL state format): quoted, `'` and `!` escaped with `!`.
    Hand-written: three lines, where a Rison library would be a new dependency."""
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def run_window(run_id: str) -> tuple[str, str]:
    """Kibana time bounds for a run: around the date in its id, else the last 30 days."""
    match = _RUN_DATE.search(run_id)
    if match:
        try:
            when = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            return ((when - timedelta(days=7)).isoformat(), (when + timedelta(days=2)).isoformat())
    return ("now-30d", "now")


def discover_url(base: str, run_id: str) -> str:
    start, end = run_window(run_id)
    query = f'run_id:"{run_id}"'
    g = f"(time:(from:{rison_string(start)},to:{rison_string(end)}))"
    a = f"(dataSource:(dataViewId:{rison_string(DATA_VIEW_ID)},type:dataView),query:(language:kuery,query:{rison_string(query)}))"
    return f"{base}/app/discover#/?_g={quote(g, safe='(),:!')}&_a={quote(a, safe='(),:!')}"


def dashboard_url(base: str) -> str:
    return f"{base}/app/dashboards#/view/{DASHBOARD_ID}"


class KibanaRunLink(BaseOperatorLink):
    name = "Kibana: documents of this run"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        base = kibana_url()
        if base is None or getattr(ti_key, "dag_id", None) not in NEWSFLOW_DAGS:
            return ""
        return discover_url(base, str(ti_key.run_id))


def _external_views() -> list[dict[str, Any]]:
    base = kibana_url()
    if base is None:
        return []
    return [{"name": "News dashboard (Kibana)", "href": dashboard_url(base), "destination": "nav",
             "category": "browse", "url_route": None}]


class NewsflowKibanaPlugin(AirflowPlugin):
    name = "newsflow_kibana"
    global_operator_extra_links = [KibanaRunLink()] if kibana_url() else []
    external_views = _external_views()
