"""Shared wiring of the newsflow DAGs: settings the Airflow way, task defaults, parse-time sources.

Not a DAG file (listed in .airflowignore). Parse-time work is kept cheap: the sources file is
read with a plain YAML load (no validation, no network, no model); everything else —
Variables, the Elasticsearch connection, `pipeline` imports — happens when a task runs.

Configuration, first match wins:
- sources file: Variable `newsflow_sources` → env NEWSFLOW_SOURCES → config/sources.yaml
- archive root: Variable `newsflow_archive` → env NEWSFLOW_ARCHIVE → ./data/archive
- Elasticsearch: connection `elasticsearch_default` (AIRFLOW_CONN_ELASTICSEARCH_DEFAULT or the
  UI) → env ES_URL → none (documents stay pending in the archive)
- schedule of news_ingest: env NEWSFLOW_INGEST_SCHEDULE or AIRFLOW_VAR_NEWSFLOW_INGEST_SCHEDULE
  (read from the environment only: a metadata-database Variable read at every parse would cost
  more than the whole parse)
- task retries: env NEWSFLOW_TASK_RETRIES (default 3), first delay NEWSFLOW_RETRY_DELAY_S (60),
  doubled at each retry up to 30 minutes.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = REPO_ROOT / "config" / "sources.yaml"
DEFAULT_ARCHIVE = "./data/archive"
ES_CONN_ID = "elasticsearch_default"
OWNER = "newsflow"


def env_int(name: str, default: int) -> int:
    """A whole number ≥ 0 from the environment; a bad value fails the DAG's import with a
    message naming the variable (Airflow shows it in the UI) instead of being ignored."""
    from pipeline.settings import env_int as parse  # light: os, logging, dataclasses, pathlib

    return parse(name, default, minimum=0, expected="a whole number ≥ 0")


def default_args(**overrides: Any) -> dict[str, Any]:
    """Retries with exponential backoff and an execution timeout on every task."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": env_int("NEWSFLOW_TASK_RETRIES", 3),
        "retry_delay": timedelta(seconds=env_int("NEWSFLOW_RETRY_DELAY_S", 60)),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(minutes=30),
    }
    args.update(overrides)
    return args


# Celery queues (ignored by the Local executor): page fetching is I/O bound and sized by
# politeness, NER by memory; each kind of worker listens on its own (docs/deployment.md).
QUEUE_FETCH = os.environ.get("NEWSFLOW_QUEUE_FETCH") or "fetch"
QUEUE_NER = os.environ.get("NEWSFLOW_QUEUE_NER") or "ner"


def backfill_workers() -> int:
    """NER processes per backfill unit: NEWSFLOW_BACKFILL_WORKERS, or sized for this worker host."""
    from pipeline.flows.sizing import backfill_workers as sized

    return sized()


def ingest_schedule() -> str | None:
    value = os.environ.get("NEWSFLOW_INGEST_SCHEDULE") or os.environ.get("AIRFLOW_VAR_NEWSFLOW_INGEST_SCHEDULE")
    if value is None:
        return "@hourly"
    return None if value.strip().lower() in ("", "none", "off", "manual") else value.strip()


# --------------------------------------------------------------------------- parse time
def parse_time_sources_file() -> str:
    return os.environ.get("NEWSFLOW_SOURCES") or str(DEFAULT_SOURCES)


def parse_time_sources() -> list[dict[str, Any]]:
    """[{id, enabled, host}] from the sources file, cheaply (full validation happens in tasks).
    An unreadable file gives [] here; the first task then fails with the precise error."""
    path = parse_time_sources_file()
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        out = []
        for src in data.get("sources") or []:
            domains = src.get("allowed_domains") or []
            if src.get("id") and domains:
                out.append({"id": str(src["id"]), "enabled": bool(src.get("enabled", True)),
                            "host": str(domains[0]).strip().lower()})
        return out
    except (OSError, yaml.YAMLError, AttributeError, TypeError) as exc:
        log.warning("newsflow: cannot read sources file %s at parse time: %s", path, exc)
        return []


def pool_name(host: str) -> str:
    """Same rule as pipeline.flows.ingest.pool_name (kept import-free for parsing speed)."""
    return "news_host_" + "".join(ch if ch.isalnum() else "_" for ch in host.lower())


def host_key(host: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in host.lower())


# --------------------------------------------------------------------------- run time
def _variable(key: str) -> str | None:
    from airflow.sdk import Variable

    try:
        value = Variable.get(key, default=None)
    except Exception as exc:  # no API server reachable (plain python): fall back to env
        log.debug("Variable %s not readable: %s", key, exc)
        return None
    return str(value) if value not in (None, "") else None


def sources_file() -> str:
    return _variable("newsflow_sources") or os.environ.get("NEWSFLOW_SOURCES") or str(DEFAULT_SOURCES)


def archive_root() -> str:
    return _variable("newsflow_archive") or os.environ.get("NEWSFLOW_ARCHIVE") or DEFAULT_ARCHIVE


def connection_url(conn: Any) -> str:
    """An Airflow Connection → `scheme://[user:pass@]host:port[/path]` for the ES client."""
    extra = getattr(conn, "extra_dejson", None) or {}
    host = str(conn.host or "")
    if "://" in host:
        base = host.rstrip("/")
        scheme, rest = base.split("://", 1)
    else:
        conn_type = str(conn.conn_type or "").lower()
        scheme = (extra.get("scheme") or (conn_type if conn_type in ("http", "https") else None)
                  or (conn.schema if conn.schema in ("http", "https") else None)
                  or ("https" if str(extra.get("use_ssl", "")).lower() in ("1", "true") else "http"))
        rest = host + (f":{conn.port}" if conn.port else "")
    auth = ""
    if conn.login:
        auth = quote(str(conn.login), safe="") + (":" + quote(str(conn.password), safe="") if conn.password else "") + "@"
    return f"{scheme}://{auth}{rest}"


def es_url() -> str | None:
    """Elasticsearch URL: connection `elasticsearch_default`, else $ES_URL, else None."""
    from airflow.sdk import Connection

    try:
        conn = Connection.get(ES_CONN_ID)
    except Exception as exc:  # not defined: AirflowNotFoundException / the SDK's error
        log.info("connection %s not defined (%s); using ES_URL", ES_CONN_ID, type(exc).__name__)
        conn = None
    if conn is not None and conn.host:
        return connection_url(conn)
    return os.environ.get("ES_URL") or None


def run_settings() -> dict[str, Any]:
    """Paths every task needs (travels through XCom: never the Elasticsearch URL, which may hold
    credentials; tasks that need it call es_url() themselves)."""
    return {"sources_file": sources_file(), "archive_root": archive_root()}
