"""docker-compose.yml, checked without Docker: schema, variables, images, wiring."""

from __future__ import annotations

import json
import re
from importlib import resources

import jsonschema
import pytest

from tests.deploy.helpers import (
    ENV_EXAMPLE,
    compose_spec_schema,
    compose_variables,
    dockerfile_base_image,
    env_example,
    load_compose,
    pinned_version,
)

SECRETS = {"ELASTIC_PASSWORD", "KIBANA_PASSWORD", "KIBANA_ENCRYPTION_KEY", "AIRFLOW_ADMIN_PASSWORD",
           "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_FERNET_KEY", "POSTGRES_PASSWORD"}
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer"}
VERSION_TAG = re.compile(r"^\d+\.\d+(\.\d+)?(-[\w.]+)?$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


def test_compose_file_validates_against_the_compose_specification(compose: dict) -> None:
    schema = compose_spec_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_broken_file(compose: dict) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["kibana"]["depends_on"]["elasticsearch"]["condition"] = "service_ready"
    schema = compose_spec_schema()
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))


def test_no_obsolete_version_key(compose: dict) -> None:
    assert "version" not in compose


def test_every_variable_is_documented_in_env_example() -> None:
    documented = env_example()
    missing = sorted(set(compose_variables()) - set(documented))
    assert not missing, f".env.example lacks {missing} (used in docker-compose.yml)"


def test_env_example_documents_nothing_unused_and_comments_every_variable() -> None:
    used = set(compose_variables())
    unused = sorted(set(env_example()) - used)
    assert not unused, f".env.example lists {unused}, which docker-compose.yml does not use"
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f".env.example line {number + 1}: {line!r} has no comment"


def test_secrets_have_no_real_value_and_required_ones_fail_fast() -> None:
    example, used = env_example(), compose_variables()
    for name in SECRETS:
        value = example[name]
        assert value == "" or value.startswith("change-me"), f".env.example: {name} has a real-looking value"
        if name != "AIRFLOW_FERNET_KEY":  # empty means "unencrypted": documented, optional
            assert used[name] == {":?"}, f"docker-compose.yml: {name} must be used as ${{{name}:?message}}"


def test_kibana_encryption_key_placeholder_is_long_enough_to_start() -> None:
    assert len(env_example()["KIBANA_ENCRYPTION_KEY"]) >= 32  # Kibana refuses shorter keys


def test_images_are_pinned_and_elastic_stack_is_on_one_version(compose: dict) -> None:
    images = {name: svc["image"] for name, svc in compose["services"].items()}
    for name, image in images.items():
        repo, _, tag = image.rpartition(":")
        assert repo and VERSION_TAG.match(tag), f"service {name}: image {image!r} is not pinned to a version"
    es_tag = images["elasticsearch"].rpartition(":")[2]
    assert images["elasticsearch"] == f"docker.elastic.co/elasticsearch/elasticsearch:{es_tag}"
    assert images["kibana"] == f"docker.elastic.co/kibana/kibana:{es_tag}"
    assert es_tag.split(".")[0] == pinned_version("elasticsearch").split(".")[0], \
        "Elasticsearch server major must match the elasticsearch client pinned in requirements.txt"


def test_airflow_image_is_built_from_the_pinned_airflow(compose: dict) -> None:
    airflow = pinned_version("apache-airflow")
    assert dockerfile_base_image().startswith(f"apache/airflow:{airflow}-python")
    for name in AIRFLOW_SERVICES | {"setup"}:
        service = compose["services"][name]
        assert service["build"]["dockerfile"] == "Dockerfile", name
        assert service["image"] == f"newsflow-airflow:{airflow}", name


def test_airflow_services_and_commands(compose: dict) -> None:
    services = compose["services"]
    assert set(services) >= AIRFLOW_SERVICES
    assert {services[n]["command"] for n in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                                             "airflow-triggerer")} == {"api-server", "scheduler",
                                                                       "dag-processor", "triggerer"}
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("simple_auth_manager.SimpleAuthManager")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].endswith(":admin")
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert all(services[n]["environment"][key] == env[key] for n in AIRFLOW_SERVICES), key


def test_depends_on_waits_on_health_and_one_shot_services(compose: dict) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}, which has no healthcheck"
            else:
                assert condition == "service_completed_successfully", f"{name} → {dependency}: {condition}"
                assert services[dependency].get("restart") == "no", f"{dependency} is not a one-shot service"
    long_running = set(services) - {"setup", "airflow-init"}
    assert all("healthcheck" in services[name] for name in long_running)


def test_elasticsearch_is_a_secured_single_node_sized_for_a_laptop(compose: dict) -> None:
    es = compose["services"]["elasticsearch"]
    env = dict(item.split("=", 1) for item in es["environment"])
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    assert env["ES_JAVA_OPTS"] == "-Xms${ES_HEAP:-1g} -Xmx${ES_HEAP:-1g}"
    assert env_example()["ES_HEAP"] == "1g"
    assert any(v.endswith(":/usr/share/elasticsearch/data") for v in es["volumes"])
    assert "-u elastic:$${ELASTIC_PASSWORD}" in es["healthcheck"]["test"][1]


def test_kibana_logs_in_as_kibana_system_set_by_the_setup_service(compose: dict) -> None:
    services = compose["services"]
    env = dict(item.split("=", 1) for item in services["kibana"]["environment"])
    assert env["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert env["ELASTICSEARCH_PASSWORD"].startswith("${KIBANA_PASSWORD:?")
    setup = services["setup"]
    assert setup["entrypoint"] == ["python", "/opt/newsflow/scripts/stack_setup.py"]
    assert setup["environment"]["KIBANA_SYSTEM_PASSWORD"].startswith("${KIBANA_PASSWORD:?")
    assert setup["depends_on"]["elasticsearch"]["condition"] == "service_healthy"


def test_archive_lives_on_a_named_volume_shared_by_the_airflow_services(compose: dict) -> None:
    services = compose["services"]
    archive = services["airflow-scheduler"]["environment"]["NEWSFLOW_ARCHIVE"]
    for name in AIRFLOW_SERVICES:
        mounts = dict(v.split(":", 1) for v in services[name]["volumes"])
        assert mounts.get("newsflow-archive") and archive.startswith(mounts["newsflow-archive"]), name
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in declared or source.startswith((".", "/")), f"{name}: volume {source} not declared"


def test_published_ports_listen_on_localhost_only(compose: dict) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port} is published on every interface"


def airflow_config_options() -> set[tuple[str, str]]:
    """(section, option) pairs of the pinned Airflow's configuration reference."""
    import yaml

    text = resources.files("airflow.config_templates").joinpath("config.yml").read_text(encoding="utf-8")
    return {(section, option) for section, body in yaml.safe_load(text).items() for option in body["options"]}


def test_every_airflow_setting_exists_in_the_pinned_airflow(compose: dict) -> None:
    known = airflow_config_options()
    settings = {key for service in compose["services"].values()
                for key in (service.get("environment") or {}) if isinstance(key, str) and key.startswith("AIRFLOW__")}
    assert settings, "no AIRFLOW__ settings found"
    for key in sorted(settings):
        section, option = key[len("AIRFLOW__"):].lower().split("__", 1)
        assert (section, option) in known, f"{key}: [{section}] {option} is not an Airflow 3 setting"
