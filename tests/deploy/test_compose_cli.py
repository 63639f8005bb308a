"""The compose files through Compose's own parser: `docker-compose config` of Docker Compose v5.6.0,
built from source by scripts/compose-cli. `config` merges the files, applies profiles, `!override` and
the interpolation exactly as `docker compose up` does before it contacts an engine, and needs none.

Each run happens in a temporary copy of the compose files (plus the main host's block of
docs/deployment.md) with `.env.example` as `.env`, also passed as `--env-file`, and a clean environment:
no variable of the developer's shell (POSTGRES_PASSWORD, DOCKER_HOST, COMPOSE_FILE…) can stand in.
The binary: $NEWSFLOW_COMPOSE_CLI, else ${NEWSFLOW_TOOLS_DIR:-~/.cache/newsflow}/compose-v5.6.0/
docker-compose. Without it the module is skipped with one line, or its tests fail when CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.helpers import ENV_EXAMPLE, REPO, env_example

COMPOSE_VERSION = "5.6.0"
CLI_VARIABLE = "NEWSFLOW_COMPOSE_CLI"
BASE, CELERY, WORKER = "docker-compose.yml", "docker-compose.celery.yml", "docker-compose.worker.yml"
MAIN_HOST = "docker-compose.main-host.yml"  # a block of docs/deployment.md, written out by the tests
DEPLOYMENT_DOC = REPO / "docs" / "deployment.md"

# stack → (compose files, extra arguments, .env with the multi-host lines of .env.example uncommented)
STACKS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "base": ((BASE,), (), False),
    "celery": ((BASE, CELERY), (), False),
    "celery+flower": ((BASE, CELERY), ("--profile", "flower"), False),
    "worker": ((WORKER,), (), True),
    "main-host": ((BASE, CELERY, MAIN_HOST), (), True),
}
WORKER_QUEUES = {"airflow-worker": {"default", "fetch"}, "airflow-worker-ner": {"ner"}}
WORKER_CONCURRENCY = {"airflow-worker": "8", "airflow-worker-ner": "1"}
# Settings only some Airflow services have; everything else must be the same in all of them.
PER_SERVICE = {"_AIRFLOW_DB_MIGRATE", "AIRFLOW_ADMIN_USERNAME", "AIRFLOW_ADMIN_PASSWORD",  # airflow-init
               "AIRFLOW__CELERY__WORKER_CONCURRENCY", "DUMB_INIT_SETSID"}  # the workers
SHARED = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY",
          "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
          "AIRFLOW__CORE__EXECUTION_API_SERVER_URL")
# In `config`'s output a `$` for the container's shell stays escaped as `$$`.
WORKER_PING = ('celery --app airflow.providers.celery.executors.celery_executor.app inspect ping '
               '-d "celery@$${HOSTNAME}"')
VERSION_TAG = re.compile(r"^\d+\.\d+(\.\d+)?(-[\w.]+)?$")
_REQUIRED = re.compile(r"(?<!\$)\$\{([A-Za-z_]\w*):\?([^}]*)\}")
_DEFAULTED = re.compile(r"(?<!\$)\$\{([A-Za-z_]\w*):-([^}]*)\}")
_ANY_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_]\w*)")
_OPTIONAL_LINE = re.compile(r"^# ([A-Z][A-Z0-9_]*)=(.*)$")


# --------------------------------------------------------------------------- the binary
def cli_path() -> Path:
    if os.environ.get(CLI_VARIABLE):
        return Path(os.environ[CLI_VARIABLE])
    tools = Path(os.environ.get("NEWSFLOW_TOOLS_DIR") or Path.home() / ".cache" / "newsflow")
    return tools / f"compose-v{COMPOSE_VERSION}" / "docker-compose"


def cli_is_there() -> bool:
    path = cli_path()
    return path.is_file() and os.access(path, os.X_OK)


if not cli_is_there() and os.environ.get("CI") != "true":
    pytest.skip(f"docker-compose v{COMPOSE_VERSION} not built ({cli_path()}): run scripts/compose-cli to check "
                "the compose files with Compose's own parser", allow_module_level=True)


@pytest.fixture(scope="module")
def cli() -> Path:
    if not cli_is_there():
        pytest.fail(f"CI=true: no docker-compose v{COMPOSE_VERSION} at {cli_path()}: run scripts/compose-cli "
                    f"(it builds the binary and prints its path) or set {CLI_VARIABLE}")
    return cli_path()


# --------------------------------------------------------------------------- the project copies
def optional_variables() -> dict[str, str]:
    """The commented-out `# NAME=value` lines of .env.example: optional settings and their defaults."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return {m.group(1): m.group(2) for m in map(_OPTIONAL_LINE.match, lines) if m}


def main_host_block() -> str:
    """The YAML block of docs/deployment.md that the main host saves as docker-compose.main-host.yml."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", DEPLOYMENT_DOC.read_text(encoding="utf-8"), re.S | re.M)
    found = [block for block in blocks if block.startswith(f"# {MAIN_HOST}")]
    assert len(found) == 1, f"docs/deployment.md: expected one ```yaml block starting with '# {MAIN_HOST}'"
    return found[0]


def write_project(directory: Path, *, env: str | None) -> Path:
    directory.mkdir()
    for name in (BASE, CELERY, WORKER):
        shutil.copy(REPO / name, directory / name)
    (directory / MAIN_HOST).write_text(main_host_block(), encoding="utf-8")
    if env is not None:
        (directory / ".env").write_text(env, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`plain`: .env = .env.example; `multi`: plus its optional lines uncommented; `bare`: no .env."""
    root = tmp_path_factory.mktemp("compose-projects")
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    uncommented = "".join(f"{name}={value}\n" for name, value in optional_variables().items())
    (root / "home").mkdir()
    return {"plain": write_project(root / "plain", env=example),
            "multi": write_project(root / "multi", env=example + "\n" + uncommented),
            "bare": write_project(root / "bare", env=None), "home": root / "home"}


def run_compose(cli: Path, project: Path, home: Path, files: tuple[str, ...], *args: str,
                env_file: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(cli), *(["--env-file", ".env"] if env_file else [])]
    command += [arg for name in files for arg in ("-f", name)]
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "DOCKER_CONFIG": str(home)}
    return subprocess.run([*command, *args], cwd=project, env=clean, capture_output=True, text=True,
                          timeout=60, check=False)


def stack_run(cli: Path, projects: Mapping[str, Path], stack: str, *args: str) -> subprocess.CompletedProcess[str]:
    files, extra, multi = STACKS[stack]
    return run_compose(cli, projects["multi" if multi else "plain"], projects["home"], files, *extra, *args)


@pytest.fixture(scope="module")
def models(cli: Path, projects: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Stack → the merged model (`config --format json`)."""
    result = {}
    for stack in STACKS:
        completed = stack_run(cli, projects, stack, "config", "--format", "json")
        assert completed.returncode == 0, f"{stack}: {completed.stderr}"
        result[stack] = json.loads(completed.stdout)
    return result


# --------------------------------------------------------------------------- helpers on the model
def airflow_services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in model["services"].items()
            if service.get("image", "").startswith("newsflow-airflow:") and name != "setup"}


def queues(command: list[str]) -> set[str]:
    for flag in ("--queues", "-q"):
        if flag in command:
            return set(command[command.index(flag) + 1].split(","))
    return set()


def workers(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in model["services"].items()
            if (service.get("command") or [])[:2] == ["celery", "worker"]}


def files_text(*names: str) -> str:
    texts = [main_host_block() if name == MAIN_HOST else (REPO / name).read_text(encoding="utf-8") for name in names]
    return "\n".join(line for text in texts for line in text.splitlines() if not line.lstrip().startswith("#"))


@cache
def dag_queues() -> set[str]:
    """The queues the DAGs put tasks on: dags/_newsflow.py's and Airflow's default queue."""
    spec = importlib.util.spec_from_file_location("_newsflow_queues", REPO / "dags" / "_newsflow.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {module.QUEUE_FETCH, module.QUEUE_NER, airflow_config()["operators"]["options"]["default_queue"]["default"]}


@cache
def airflow_config() -> dict[str, Any]:
    text = resources.files("airflow.config_templates").joinpath("config.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def airflow_options() -> set[tuple[str, str]]:
    """(section, option) of the pinned Airflow and of its Celery provider."""
    from airflow.providers.celery.get_provider_info import get_provider_info

    sections = {**airflow_config(), **get_provider_info()["config"]}
    return {(section, option) for section, body in sections.items() for option in body["options"]}


# --------------------------------------------------------------------------- the parser accepts the files
def test_the_binary_is_compose_v5_6_0(cli: Path, projects: dict[str, Path]) -> None:
    completed = run_compose(cli, projects["plain"], projects["home"], (), "version", "--short")
    assert completed.returncode == 0 and completed.stdout.strip() == COMPOSE_VERSION, completed


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_compose_accepts_the_stack_without_a_warning(cli: Path, projects: dict[str, Path], stack: str) -> None:
    completed = stack_run(cli, projects, stack, "config", "-q")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == "", completed.stderr


# Compose interpolates file by file and stops at the first one with errors: each file on its own.
@pytest.mark.parametrize("name", [BASE, CELERY, WORKER, MAIN_HOST])
def test_without_env_compose_stops_and_names_every_missing_variable(cli: Path, projects: dict[str, Path],
                                                                   name: str) -> None:
    completed = run_compose(cli, projects["bare"], projects["home"], (name,), "config", "-q", env_file=False)
    assert completed.returncode != 0
    required = set(_REQUIRED.findall(files_text(name)))
    assert required, f"{name} requires no variable"
    for variable, message in sorted(required):
        assert f"required variable {variable} is missing a value: {message}" in completed.stderr, variable


def test_every_required_variable_says_where_to_set_it() -> None:
    for name, message in _REQUIRED.findall(files_text(CELERY, WORKER, MAIN_HOST)):
        assert message.startswith(f"set {name} ") and "in .env" in message, f"${{{name}:?{message}}}"


def test_secrets_of_the_base_file_are_required_wherever_the_new_files_use_them() -> None:
    secrets = {name for name, _ in _REQUIRED.findall(files_text(BASE))}
    text = files_text(CELERY, WORKER, MAIN_HOST)
    for name in secrets:
        uses = re.findall(rf"\$\{{{name}(:?.)?", text)
        assert all(use == ":?" for use in uses), f"{name} is used as {uses}: every use must be ${{{name}:?…}}"


# --------------------------------------------------------------------------- .env.example
def test_every_variable_of_the_new_files_is_documented_in_env_example() -> None:
    documented = set(env_example()) | set(optional_variables())
    used = set(_ANY_VARIABLE.findall(files_text(CELERY, WORKER, MAIN_HOST)))
    assert used - documented == set(), f".env.example lacks {sorted(used - documented)}"
    assert set(optional_variables()) <= used, "an optional variable of .env.example is used nowhere"


def test_optional_variables_are_commented_and_their_documented_values_are_the_defaults() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if _OPTIONAL_LINE.match(line):
            above = lines[number - 1]
            assert above.startswith("# ") and not _OPTIONAL_LINE.match(above), f".env.example: {line!r} has no comment"
    documented = optional_variables()
    for name, default in _DEFAULTED.findall(files_text(CELERY, WORKER, MAIN_HOST)):
        if name in documented:
            assert documented[name] == default, f"{name}: .env.example says {documented[name]}, the files {default}"


# --------------------------------------------------------------------------- the Celery stack
def test_every_airflow_service_runs_the_celery_executor_with_the_same_settings(models: dict[str, Any]) -> None:
    services = airflow_services(models["celery+flower"])
    assert set(services) == {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                             "airflow-triggerer", "airflow-worker", "airflow-worker-ner", "flower"}
    reference = {k: v for k, v in services["airflow-scheduler"]["environment"].items() if k not in PER_SERVICE}
    assert reference["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert reference["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0"
    assert reference["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://airflow:change-me@postgres/airflow"
    assert reference["AIRFLOW__API_AUTH__JWT_SECRET"] == "change-me" and set(SHARED) <= set(reference)
    for name, service in services.items():
        env = {k: v for k, v in service["environment"].items() if k not in PER_SERVICE}
        assert env == reference, f"{name}: {sorted(set(env.items()) ^ set(reference.items()))}"


def test_workers_listen_on_the_queues_of_the_dags(models: dict[str, Any]) -> None:
    found = {name: queues(service["command"]) for name, service in workers(models["celery"]).items()}
    assert found == WORKER_QUEUES
    assert set().union(*found.values()) == dag_queues()


def test_worker_concurrency_warm_shutdown_and_self_sized_backfills(models: dict[str, Any]) -> None:
    services = models["celery"]["services"]
    for name, concurrency in WORKER_CONCURRENCY.items():
        env = services[name]["environment"]
        assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == concurrency, name
        assert env["DUMB_INIT_SETSID"] == "0", name
        assert services[name].get("stop_grace_period"), name
    assert all("NEWSFLOW_BACKFILL_WORKERS" not in s.get("environment", {}) for s in services.values())


def test_redis_and_the_workers_have_health_checks(models: dict[str, Any]) -> None:
    services = models["celery+flower"]["services"]
    assert services["redis"]["image"] == "redis:7.4"
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in WORKER_QUEUES:
        assert services[name]["healthcheck"]["test"] == ["CMD-SHELL", WORKER_PING], name
    one_shots = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shots == {"setup", "airflow-init"}
    assert [name for name in services if name not in one_shots and "healthcheck" not in services[name]] == []


def test_depends_on_conditions_can_be_met_and_the_scheduler_no_longer_waits_for_elasticsearch(
        models: dict[str, Any]) -> None:
    services = models["celery+flower"]["services"]
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}, which has no healthcheck"
            else:
                assert spec["condition"] == "service_completed_successfully", f"{name} → {dependency}"
                assert services[dependency]["restart"] == "no", f"{name} → {dependency}: not a one-shot service"
    assert set(services["airflow-scheduler"]["depends_on"]) == {"postgres", "redis", "airflow-init"}
    for name in WORKER_QUEUES:
        waits = {d for d, spec in services[name]["depends_on"].items() if spec["condition"] == "service_healthy"}
        assert waits == {"postgres", "redis", "airflow-apiserver", "elasticsearch"}, name


def test_flower_only_with_its_profile_and_ports_on_localhost(models: dict[str, Any]) -> None:
    assert "flower" not in models["celery"]["services"]
    flower = models["celery+flower"]["services"]["flower"]
    assert flower["command"] == ["celery", "flower"]
    assert [(p["host_ip"], p["published"], p["target"]) for p in flower["ports"]] == [("127.0.0.1", "5555", 5555)]
    for name, service in models["celery+flower"]["services"].items():
        assert all(p["host_ip"] == "127.0.0.1" for p in service.get("ports", [])), name


def test_images_are_pinned_and_every_airflow_setting_exists(models: dict[str, Any]) -> None:
    known = airflow_options()
    for stack in ("celery+flower", "worker"):
        for name, service in models[stack]["services"].items():
            assert VERSION_TAG.match(service["image"].rpartition(":")[2]), f"{stack}/{name}: {service['image']}"
            for key in (k for k in service.get("environment", {}) if k.startswith("AIRFLOW__")):
                section, option = key[len("AIRFLOW__"):].lower().split("__", 1)
                assert (section, option) in known, f"{stack}/{name}: {key} is not an Airflow or Celery provider setting"


# --------------------------------------------------------------------------- workers on other hosts
def test_remote_workers_are_the_main_hosts_workers(models: dict[str, Any]) -> None:
    remote, local = models["worker"]["services"], models["celery"]["services"]
    assert set(remote) == set(WORKER_QUEUES)
    for name, service in remote.items():
        for key in ("image", "command", "environment", "healthcheck", "stop_grace_period"):
            assert service[key] == local[name][key], f"{name}: {key} differs from the main host's"
        assert service["build"]["dockerfile"] == local[name]["build"]["dockerfile"] == "Dockerfile", name
        assert "depends_on" not in service, f"{name}: the services it would wait for run on the main host"


def test_remote_workers_reach_every_host_their_settings_name_on_the_main_host(models: dict[str, Any]) -> None:
    main_ip = optional_variables()["NEWSFLOW_MAIN_HOST_IP"]
    for name, service in models["worker"]["services"].items():
        env = service["environment"]
        urls = [env[key] for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
                                     "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                                     "ES_URL")]
        hosts = {urlsplit(url).hostname for url in urls}
        assert sorted(service["extra_hosts"]) == sorted(f"{host}={main_ip}" for host in hosts), name


def test_main_host_publishes_what_the_workers_reach_and_both_share_the_nfs_directories(
        models: dict[str, Any]) -> None:
    main_ip = optional_variables()["NEWSFLOW_MAIN_HOST_IP"]
    services = models["main-host"]["services"]
    env = services["airflow-worker"]["environment"]
    wanted = {"postgres": urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).port or 5432,
              "redis": urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).port,
              "airflow-apiserver": urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).port,
              "elasticsearch": urlsplit(env["ES_URL"]).port}
    for name, port in wanted.items():
        published = {(p["host_ip"], p["published"], p["target"]) for p in services[name]["ports"]}
        assert (main_ip, str(port), port) in published, f"{name}: {published}"
    assert ("127.0.0.1", "8080", 8080) in {(p["host_ip"], p["published"], p["target"])
                                           for p in services["airflow-apiserver"]["ports"]}
    remote_volumes = models["worker"]["volumes"]
    for volume in ("newsflow-archive", "airflow-logs"):
        opts = models["main-host"]["volumes"][volume]["driver_opts"]
        assert opts == remote_volumes[volume]["driver_opts"], volume
        assert opts["type"] == "nfs" and f"addr={optional_variables()['NEWSFLOW_NFS_SERVER']}," in opts["o"]
    mounts = {(m["source"], m["target"]) for m in models["worker"]["services"]["airflow-worker-ner"]["volumes"]}
    assert mounts == {(m["source"], m["target"]) for m in services["airflow-worker-ner"]["volumes"]
                      if m["source"] != "airflow-auth"}


def test_the_docs_give_the_commands_of_these_files() -> None:
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    for command in ("docker compose -f docker-compose.yml -f docker-compose.celery.yml up -d --scale airflow-worker-ner=2",
                    "docker compose -f docker-compose.worker.yml up -d airflow-worker-ner",
                    f"docker compose -f docker-compose.yml -f docker-compose.celery.yml -f {MAIN_HOST} up -d"):
        assert command in text, command
