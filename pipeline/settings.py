"""Run-time settings from the environment (secrets only ever come from here or Airflow).

Everything has a sane default so that `python -m pipeline ingest --no-index` works on a
fresh checkout. Configuration *files* (config/*.yaml) are loaded by their own modules.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES_FILE = PROJECT_ROOT / "config" / "sources.yaml"
DEFAULT_ARCHIVE_ROOT = "./data/archive"


@dataclass(frozen=True)
class Settings:
    sources_file: str
    archive_root: str
    es_url: str | None
    kibana_url: str | None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            sources_file=env.get("NEWSFLOW_SOURCES") or str(DEFAULT_SOURCES_FILE),
            archive_root=env.get("NEWSFLOW_ARCHIVE") or DEFAULT_ARCHIVE_ROOT,
            es_url=env.get("ES_URL") or None,
            kibana_url=env.get("KIBANA_URL") or None,
        )


def env_int(name: str, default: int, *, minimum: int, expected: str,
            environ: Mapping[str, str] | None = None) -> int:
    """The whole number in environment variable `name` (spaces around it ignored); `default`
    when it is unset or empty. Any other value, or one below `minimum`, raises ValueError
    naming the variable and its value: "NAME='x': expected <expected>"."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name}={raw!r}: expected {expected}")
    return value


def env_switch(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the switch in environment variable `name` is on: on when unset or empty, off
    for `0`, `false`, `no` or `off` (any case, spaces around ignored)."""
    raw = (os.environ if environ is None else environ).get(name) or "1"
    return raw.strip().lower() not in ("0", "false", "no", "off")


ENV_MP_START = "NEWSFLOW_MP_START"


def mp_start_method(default: str, environ: Mapping[str, str] | None = None) -> str:
    """How worker processes start: `NEWSFLOW_MP_START` when set (`spawn`, `forkserver`,
    `fork`), else `default`. A method this platform does not have (or an unknown word) is
    logged as a warning naming the value and the ones available, and `spawn` is used: the
    one every platform has."""
    import multiprocessing  # here, not at the top: DAG files import this module when parsed

    raw = ((os.environ if environ is None else environ).get(ENV_MP_START) or "").strip()
    method = raw or default
    available = multiprocessing.get_all_start_methods()
    if method in available:
        return method
    if raw:
        log.warning("%s=%s is not a start method of this platform (%s): using spawn", ENV_MP_START, raw,
                    ", ".join(available))
    return "spawn"
