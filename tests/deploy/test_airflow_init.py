"""scripts/airflow_init.sh (the compose `airflow-init` service), run for real with stand-ins for the
image's entrypoint and the `airflow` CLI that record what they are asked to do."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from tests.deploy.helpers import REPO, pinned_version

SCRIPT = REPO / "scripts" / "airflow_init.sh"
SEP = "\x1f"


def stub(path: Path, body: str) -> Path:
    path.write_text("#!/usr/bin/env bash\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def run_init(tmp_path: Path, **overrides: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    record = f'{{ printf "%s{SEP}" "$@"; echo; }} >> "{log}"\n'
    stub(bin_dir / "airflow", record + f'if [ "$1 $2" = "pools import" ]; then cp "$3" "{tmp_path}/pools.json"; fi\n')
    entrypoint = stub(tmp_path / "entrypoint", 'echo "entrypoint $*" >> "' + str(tmp_path / "entrypoint.log") + '"\n')
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_ENTRYPOINT": str(entrypoint),
        "AIRFLOW_ADMIN_USERNAME": "admin",
        "AIRFLOW_ADMIN_PASSWORD": "pw-123",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "auth" / "passwords.json"),
        "ES_URL": "http://elasticsearch:9200",
        "ES_USERNAME": "elastic",
        "ES_PASSWORD": "es-pw",
        "NEWSFLOW_SOURCES": str(REPO / "config" / "sources.yaml"),
        **overrides,
    }
    completed = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120,
                               check=False)
    calls = [line.split(SEP)[:-1] for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return completed, calls


def test_init_migrates_writes_the_login_creates_the_connection_and_the_pools(tmp_path: Path) -> None:
    completed, calls = run_init(tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "entrypoint.log").read_text(encoding="utf-8").strip() == "entrypoint airflow version"

    passwords = tmp_path / "auth" / "passwords.json"
    assert json.loads(passwords.read_text(encoding="utf-8")) == {"admin": "pw-123"}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600

    assert calls[0] == ["connections", "delete", "elasticsearch_default"]
    assert calls[1][:4] == ["connections", "add", "elasticsearch_default", "--conn-json"]
    assert json.loads(calls[1][4]) == {"conn_type": "elasticsearch", "host": "elasticsearch", "port": 9200,
                                       "schema": "http", "login": "elastic", "password": "es-pw"}
    assert calls[2][:2] == ["pools", "import"]
    pools = json.loads((tmp_path / "pools.json").read_text(encoding="utf-8"))
    assert pools and all(name.startswith("news_host_") and spec["slots"] >= 1 for name, spec in pools.items())
    assert "es-pw" not in completed.stdout + completed.stderr
    assert "pw-123" not in completed.stdout + completed.stderr


def test_init_refuses_to_run_without_the_admin_password(tmp_path: Path) -> None:
    completed, calls = run_init(tmp_path, AIRFLOW_ADMIN_PASSWORD="")
    assert completed.returncode != 0
    assert "AIRFLOW_ADMIN_PASSWORD not set" in completed.stderr
    assert calls == []


def airflow_json(env: dict[str, str], *args: str) -> list[dict[str, str]]:
    completed = subprocess.run(["airflow", *args, "-o", "json"], env=env, capture_output=True, text=True,
                               timeout=120, check=True)
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def initialized_airflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """airflow_init.sh run twice (as at every `docker compose up`) with the pinned Airflow's own CLI on
    a fresh SQLite database; only the image's entrypoint is stood in for (it migrates the database, as
    `_AIRFLOW_DB_MIGRATE=true` makes the real one do). Returns the environment of that Airflow."""
    tmp_path = tmp_path_factory.mktemp("airflow-init")
    entrypoint = stub(tmp_path / "entrypoint", 'airflow db migrate >/dev/null && exec "$@"\n')
    env = {
        "HOME": str(tmp_path), "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
        "PYTHONPATH": str(REPO), "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false", "AIRFLOW_ENTRYPOINT": str(entrypoint),
        "AIRFLOW_ADMIN_USERNAME": "admin", "AIRFLOW_ADMIN_PASSWORD": "pw-123",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "auth" / "passwords.json"),
        "ES_URL": "http://elasticsearch:9200", "ES_USERNAME": "elastic", "ES_PASSWORD": "es-pw-456",
        "NEWSFLOW_SOURCES": str(REPO / "config" / "sources.yaml"),
    }
    for _ in range(2):
        completed = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300,
                                   check=False)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert "es-pw-456" not in completed.stdout + completed.stderr
    return env


@pytest.mark.slow
def test_connection_and_pools_in_a_real_metadata_database(initialized_airflow: dict[str, str]) -> None:
    [conn] = airflow_json(initialized_airflow, "connections", "get", "elasticsearch_default")
    assert (conn["conn_type"], conn["host"], conn["port"], conn["schema"], conn["login"], conn["password"]) == \
        ("elasticsearch", "elasticsearch", "9200", "http", "elastic", "es-pw-456")
    pools = {p["pool"]: int(p["slots"]) for p in airflow_json(initialized_airflow, "pools", "list")}
    assert {"news_host_rts_ch", "news_host_srf_ch"} <= set(pools)
    assert all(slots >= 1 for slots in pools.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_api_server_accepts_the_admin_password_airflow_init_wrote(initialized_airflow: dict[str, str]) -> None:
    """The compose stack's login: simple auth manager, password from the file, health check URL open."""
    port = free_port()
    env = {**initialized_airflow,
           "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
           "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-secret-for-the-test", "AIRFLOW__API__SECRET_KEY": "api-secret"}
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    before = passwords.read_text(encoding="utf-8")
    server = subprocess.Popen(["airflow", "api-server", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        version = wait_until_up(server, f"{base}/api/v2/version")  # the compose health check, unauthenticated
        assert version["version"] == pinned_version("apache-airflow")
        good = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": "pw-123"}, timeout=30)
        assert good.status_code in (200, 201) and good.json()["access_token"]
        bad = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": "wrong"}, timeout=30)
        assert bad.status_code == 401
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert passwords.read_text(encoding="utf-8") == before, "the api-server must not rewrite the password file"


def wait_until_up(server: subprocess.Popen[bytes], url: str) -> dict[str, str]:
    """Poll until the URL answers (or the server exits): waiting on a condition, bounded in time."""
    for attempt in Retrying(stop=stop_after_delay(180), wait=wait_fixed(0.5), reraise=True,
                            retry=retry_if_exception_type(httpx.TransportError)):
        with attempt:
            assert server.poll() is None, f"api-server exited with {server.returncode}"
            return httpx.get(url, timeout=5).raise_for_status().json()
    raise AssertionError("unreachable")
