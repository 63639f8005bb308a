"""The docker stack's one-shot `setup` service: make a fresh Elasticsearch + Kibana ready for newsflow.

1. wait until Elasticsearch answers the `elastic` user;
2. set the `kibana_system` password (`POST /_security/user/kibana_system/_password`, as in Elastic's
   own compose files) so that Kibana can log in;
3. `python -m pipeline es-setup`: index template, first index version and the aliases (idempotent);
4. wait until Kibana is up, then import kibana/saved_objects.ndjson (data view, searches, dashboard).

Every step is idempotent: `docker compose run --rm setup` repeats them safely. Settings come from the
environment (docker-compose.yml sets them): ES_URL, ES_USERNAME, ES_PASSWORD, KIBANA_SYSTEM_PASSWORD,
SETUP_KIBANA_URL, SETUP_SAVED_OBJECTS, SETUP_TIMEOUT_SECONDS (default 600), SETUP_POLL_SECONDS (5).
Secrets are never printed.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # run as a file: make `kibana` and `pipeline` importable
    sys.path.insert(0, str(PROJECT_ROOT))

from kibana.import_saved_objects import DEFAULT_FILE, import_saved_objects  # noqa: E402

log = logging.getLogger("newsflow.setup")
PLACEHOLDER = "change-me"
KIBANA_USABLE = ("available", "degraded")
RETRYABLE_STATUS = (429, 500, 502, 503, 504)


class SetupError(RuntimeError):
    """A setup step failed for good (the message names the step and the cause, never a secret)."""


class NotReady(Exception):
    """A service is not answering yet: retried until the timeout."""


@dataclass(frozen=True)
class SetupConfig:
    es_url: str
    es_username: str
    es_password: str
    kibana_system_password: str
    kibana_url: str
    saved_objects: Path
    timeout_seconds: float = 600.0
    poll_seconds: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SetupConfig:
        missing = [name for name in ("ES_URL", "ES_PASSWORD", "KIBANA_SYSTEM_PASSWORD", "SETUP_KIBANA_URL")
                   if not env.get(name)]
        if missing:
            raise SetupError(f"environment: {', '.join(missing)} not set (see .env.example)")
        return cls(
            es_url=env["ES_URL"].rstrip("/"), es_username=env.get("ES_USERNAME") or "elastic",
            es_password=env["ES_PASSWORD"], kibana_system_password=env["KIBANA_SYSTEM_PASSWORD"],
            kibana_url=env["SETUP_KIBANA_URL"].rstrip("/"),
            saved_objects=Path(env.get("SETUP_SAVED_OBJECTS") or DEFAULT_FILE),
            timeout_seconds=float(env.get("SETUP_TIMEOUT_SECONDS") or 600),
            poll_seconds=float(env.get("SETUP_POLL_SECONDS") or 5),
        )


def _retrying(config: SetupConfig) -> Retrying:
    return Retrying(stop=stop_after_delay(config.timeout_seconds), wait=wait_fixed(config.poll_seconds),
                    retry=retry_if_exception_type(NotReady), reraise=True)


def wait_for_elasticsearch(client: httpx.Client, config: SetupConfig) -> str:
    """Poll `GET /` with the elastic user until it answers 200; return the cluster's version."""
    def probe() -> str:
        try:
            response = client.get(config.es_url + "/")
        except httpx.TransportError as exc:
            raise NotReady(f"{config.es_url}: {exc.__class__.__name__}") from exc
        if response.status_code == 401:
            raise SetupError(f"{config.es_url}: user {config.es_username!r} rejected (HTTP 401): "
                             "ELASTIC_PASSWORD differs from the one the data volume was created with")
        if response.status_code != 200:
            raise NotReady(f"{config.es_url}: HTTP {response.status_code}")
        return str(response.json().get("version", {}).get("number", "?"))

    try:
        version = _retrying(config)(probe)
    except NotReady as exc:
        raise SetupError(f"elasticsearch not ready after {config.timeout_seconds:.0f}s: {exc}") from exc
    log.info("elasticsearch %s is up at %s", version, config.es_url)
    return version


def set_kibana_system_password(client: httpx.Client, config: SetupConfig) -> None:
    """Retried while Elasticsearch answers 429/5xx (its security index may still be starting), as
    Elastic's compose files retry the same call; any other refusal is final."""
    url = f"{config.es_url}/_security/user/kibana_system/_password"

    def attempt() -> None:
        try:
            response = client.post(url, json={"password": config.kibana_system_password})
        except httpx.TransportError as exc:
            raise NotReady(f"{url}: {exc.__class__.__name__}") from exc
        if response.status_code in RETRYABLE_STATUS:
            raise NotReady(f"{url}: HTTP {response.status_code} ({_es_error_type(response)})")
        if response.status_code != 200:
            reason = _es_error_type(response)
            raise SetupError(f"{url}: HTTP {response.status_code} ({reason}): kibana_system password not set")

    try:
        _retrying(config)(attempt)
    except NotReady as exc:
        raise SetupError(f"kibana_system password not set after {config.timeout_seconds:.0f}s: {exc}") from exc
    log.info("kibana_system password set")


def _es_error_type(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except ValueError:
        return response.text[:200]
    return str(error.get("type", error)) if isinstance(error, dict) else str(error)


ES_SETUP_COMMAND = (sys.executable, "-m", "pipeline", "es-setup")


def run_es_setup(env: Mapping[str, str], config: SetupConfig,
                 command: Sequence[str] = ES_SETUP_COMMAND) -> None:
    """`python -m pipeline es-setup` (index template, index, aliases; idempotent), with this process's
    ES settings. Exit code 1 (Elasticsearch unreachable or failing) is retried until the timeout;
    2 (unusable input, e.g. a broken template) is final."""
    child_env = {**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)}

    def attempt() -> None:
        completed = subprocess.run(list(command), cwd=PROJECT_ROOT, env=child_env, check=False)
        if completed.returncode == 1:
            raise NotReady(f"{' '.join(command[1:])}: exit code 1")
        if completed.returncode != 0:
            raise SetupError(f"{' '.join(command[1:])}: exit code {completed.returncode} (its error is above)")

    try:
        _retrying(config)(attempt)
    except NotReady as exc:
        raise SetupError(f"{exc} for {config.timeout_seconds:.0f}s (its error is above)") from exc
    log.info("index template, index and aliases ready (python -m pipeline es-setup)")


def wait_for_kibana(client: httpx.Client, config: SetupConfig) -> None:
    """Poll `GET /api/status` until Kibana serves requests (overall level `available`, or `degraded`:
    some plugin has trouble, but the saved objects API works)."""
    def probe() -> str:
        try:
            response = client.get(config.kibana_url + "/api/status")
        except httpx.TransportError as exc:
            raise NotReady(f"{config.kibana_url}: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise NotReady(f"{config.kibana_url}/api/status: HTTP {response.status_code}")
        level = str(response.json().get("status", {}).get("overall", {}).get("level", "available"))
        if level not in KIBANA_USABLE:
            raise NotReady(f"{config.kibana_url}: status {level}")
        return level

    try:
        level = _retrying(config)(probe)
    except NotReady as exc:
        raise SetupError(f"kibana not ready after {config.timeout_seconds:.0f}s: {exc}") from exc
    if level != "available":
        log.warning("kibana is up at %s but reports status %s (see its logs)", config.kibana_url, level)
    else:
        log.info("kibana is up at %s", config.kibana_url)


def run_setup(config: SetupConfig, *, client: httpx.Client,
              es_setup: Callable[[], None]) -> int:
    """All steps in order; returns the number of saved objects imported."""
    for name, value in (("ELASTIC_PASSWORD", config.es_password), ("KIBANA_PASSWORD", config.kibana_system_password)):
        if value == PLACEHOLDER:
            log.warning("%s is still the .env.example placeholder %r: change it before exposing the stack",
                        name, PLACEHOLDER)
    wait_for_elasticsearch(client, config)
    set_kibana_system_password(client, config)
    es_setup()
    wait_for_kibana(client, config)
    result = import_saved_objects(client, config.kibana_url, config.saved_objects)
    log.info("setup done: %d Kibana saved objects imported", result.success_count)
    return result.success_count


def main(env: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    environ = dict(os.environ if env is None else env)
    try:
        config = SetupConfig.from_env(environ)
        with httpx.Client(auth=(config.es_username, config.es_password), timeout=30) as client:
            run_setup(config, client=client, es_setup=lambda: run_es_setup(environ, config))
    except Exception as exc:  # the one place that turns any failure into a clear line and exit 1
        log.error("setup failed: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
