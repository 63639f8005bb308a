"""Shared readers for the deployment checks: the compose file, .env.example, requirements pins."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
REQUIREMENTS = REPO / "requirements.txt"

# `${VAR}`, `${VAR:-default}`, `${VAR:?message}`; `$${…}` is compose's escape for a literal `$`.
_COMPOSE_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def compose_variables() -> dict[str, set[str]]:
    """Variable name → the modifiers it is used with (`''`, `:-…`, `:?…`) in docker-compose.yml."""
    found: dict[str, set[str]] = {}
    for line in COMPOSE_FILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        for name, modifier in _COMPOSE_VAR.findall(line):
            found.setdefault(name, set()).add(modifier[:2])
    return found


def env_example() -> dict[str, str]:
    """Variables of .env.example (name → value), in file order."""
    values: dict[str, str] = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example line {number}: not NAME=value: {line!r}"
        values[name.strip()] = value.strip()
    return values


def pinned_version(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==([^\s\\]+)", REQUIREMENTS.read_text(encoding="utf-8"), re.M)
    assert match, f"requirements.txt: {package} is not pinned with =="
    return match.group(1)


def locked_python_version() -> str:
    match = re.search(r"--python-version (\d+\.\d+)", REQUIREMENTS.read_text(encoding="utf-8"))
    assert match, "requirements.txt: header has no --python-version (the interpreter the lock is for)"
    return match.group(1)


def dockerfile_base_image() -> str:
    froms = [line.split()[1] for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
             if line.upper().startswith("FROM ")]
    assert len(froms) == 1, f"Dockerfile: expected one FROM, found {froms}"
    return froms[0]


def compose_spec_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema, as vendored by check-jsonschema (a pinned requirement)."""
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text(encoding="utf-8"))
