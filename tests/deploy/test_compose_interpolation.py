"""docker-compose.yml once compose has substituted the variables of a `.env` copied from .env.example:
still valid, with the values a newcomer gets; a missing secret stops compose with the documented message.

The substitution follows the Compose specification's interpolation rules (`${VAR}`, `${VAR:-default}`,
`${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `$$` for a literal `$`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema
import pytest

from tests.deploy.helpers import compose_spec_schema, env_example, load_compose

_TOKEN = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        current = env.get(name)
        unset_or_empty = not current
        if operator in (":-", "-"):
            return argument if (unset_or_empty if operator == ":-" else current is None) else str(current)
        if operator in (":?", "?"):
            if unset_or_empty if operator == ":?" else current is None:
                raise MissingVariable(f"required variable {name} is missing a value: {argument}")
            return str(current)
        if operator in (":+", "+"):
            return argument if not (unset_or_empty if operator == ":+" else current is None) else ""
        return current or ""

    return _TOKEN.sub(substitute, value)


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    return interpolate(load_compose(), env_example())


def test_the_file_a_newcomer_gets_is_valid(resolved: dict[str, Any]) -> None:
    schema = compose_spec_schema()
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(resolved))
    assert not errors, [e.message for e in errors]
    # what is left are the `$${…}` escapes, expanded by the container's shell at run time
    assert set(re.findall(r"\$\{\w+\}", json.dumps(resolved))) == {"${ELASTIC_PASSWORD}", "${HOSTNAME}"}


def test_resolved_values(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    es_env = dict(item.split("=", 1) for item in services["elasticsearch"]["environment"])
    assert es_env["ES_JAVA_OPTS"] == "-Xms1g -Xmx1g"
    assert es_env["ELASTIC_PASSWORD"] == "change-me"
    # the health check reads the password inside the container, not from compose
    assert "-u elastic:${ELASTIC_PASSWORD}" in services["elasticsearch"]["healthcheck"]["test"][1]
    assert services["kibana"]["ports"] == ["127.0.0.1:5601:5601"]
    assert services["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]
    scheduler = services["airflow-scheduler"]["environment"]
    assert scheduler["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://airflow:change-me@postgres/airflow"
    assert scheduler["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert scheduler["AIRFLOW__CORE__FERNET_KEY"] == ""
    assert scheduler["KIBANA_URL"] == "http://localhost:5601"
    assert services["airflow-init"]["environment"]["AIRFLOW_ADMIN_PASSWORD"] == "change-me"
    assert services["setup"]["environment"]["KIBANA_SYSTEM_PASSWORD"] == "change-me"


@pytest.mark.parametrize("name", ["ELASTIC_PASSWORD", "KIBANA_PASSWORD", "KIBANA_ENCRYPTION_KEY",
                                  "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY",
                                  "POSTGRES_PASSWORD"])
def test_a_missing_secret_stops_compose_with_a_pointer_to_env_example(name: str) -> None:
    env = {key: value for key, value in env_example().items() if key != name}
    with pytest.raises(MissingVariable, match=rf"{name} is missing a value: set {name}"):
        interpolate(load_compose(), env)


def test_empty_optional_settings_fall_back_to_defaults() -> None:
    env = {**env_example(), "ES_HEAP": "", "KIBANA_PORT": "", "AIRFLOW_ADMIN_USERNAME": ""}
    services = interpolate(load_compose(), env)["services"]
    assert "-Xms1g -Xmx1g" in " ".join(services["elasticsearch"]["environment"])
    assert services["kibana"]["ports"] == ["127.0.0.1:5601:5601"]
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
