"""Airflow for the tests: a throw-away AIRFLOW_HOME with a SQLite metadata database, and DAG
files loaded fresh (so a test's environment — sources file, archive, ES URL — is what their
parse-time code sees).

`configure()` must run before anything imports `airflow` (Airflow reads its configuration at
import): the conftests of tests/dags and tests/e2e call it when they are imported.
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
PLUGINS = REPO / "plugins"
VENV_BIN = Path(sys.executable).parent

_home: Path | None = None
_migrated = False
_counter = itertools.count()


def configure() -> Path:
    """Point Airflow at a temporary home (once per pytest process)."""
    global _home
    if _home is not None:
        return _home
    _home = Path(tempfile.mkdtemp(prefix="newsflow-airflow-"))
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
    os.environ.update({
        "AIRFLOW_HOME": str(_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_home}/airflow.db",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    })
    if str(DAGS) not in sys.path:
        sys.path.insert(0, str(DAGS))
    return _home


def migrate() -> None:
    """Create the metadata database (once per pytest process)."""
    global _migrated
    if _migrated:
        return
    configure()
    proc = subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}, timeout=240)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    _migrated = True


def load_dag_module(name: str) -> ModuleType:
    """Import dags/<name>.py afresh (a new module object each call)."""
    configure()
    path = DAGS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_newsflow_test_{name}_{next(_counter)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_dag(name: str):  # -> airflow.sdk.DAG
    module = load_dag_module(name)
    return getattr(module, f"{name}_dag")
