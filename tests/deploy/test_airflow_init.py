"""scripts/airflow_init.sh (the compose `airflow-init` service), run for real with stand-ins for the
image's entrypoint and the `airflow` CLI that record what they are asked to do."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.helpers import REPO

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


@pytest.mark.slow
def test_init_against_the_real_airflow_cli_and_a_fresh_metadata_database(tmp_path: Path) -> None:
    """The same script with the pinned Airflow's own CLI on SQLite; only the image's entrypoint is
    stood in for (it migrates the database, as `_AIRFLOW_DB_MIGRATE=true` makes the real one do)."""
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
    for _ in range(2):  # runs at every `docker compose up`: the second time must succeed too
        completed = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300,
                                   check=False)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert "es-pw-456" not in completed.stdout + completed.stderr

    [conn] = airflow_json(env, "connections", "get", "elasticsearch_default")
    assert (conn["conn_type"], conn["host"], conn["port"], conn["schema"], conn["login"], conn["password"]) == \
        ("elasticsearch", "elasticsearch", "9200", "http", "elastic", "es-pw-456")
    pools = {p["pool"]: int(p["slots"]) for p in airflow_json(env, "pools", "list")}
    assert {"news_host_rts_ch", "news_host_srf_ch"} <= set(pools)
    assert all(slots >= 1 for slots in pools.values())
