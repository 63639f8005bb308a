"""The README tells the truth: its first commands are what CI runs, its CLI lines parse, its files exist."""

from __future__ import annotations

import re
import shlex

import pytest

from pipeline.cli import build_parser
from tests.deploy.helpers import REPO, load_compose

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def code_lines(text: str) -> list[str]:
    """Indented code-block lines and inline `code` spans, comments stripped."""
    lines = [line.strip() for line in text.splitlines() if line.startswith("    ") and line.strip()]
    lines += re.findall(r"`([^`\n]+)`", text)
    return [line.split("  #")[0].strip() for line in lines]


def pip_requirement_files(text: str) -> list[str]:
    return re.findall(r"pip install[^\n&]*?--require-hashes -r (\S+)", text)


def test_the_two_commands_come_first_and_are_what_ci_runs() -> None:
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings[0] == "The two commands"
    first = section("The two commands")
    assert "cp .env.example .env && docker compose up -d" in code_lines(first)
    assert "scripts/test" in code_lines(first)
    ci_steps = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci_steps == ["scripts/test"], f".ci/run runs {ci_steps}, the README says scripts/test"
    assert (REPO / "scripts" / "test").stat().st_mode & 0o111, "scripts/test is not executable"
    assert (REPO / ".env.example").is_file() and (REPO / "docker-compose.yml").is_file()


def test_install_commands_match_the_test_command() -> None:
    script = (REPO / "scripts" / "test").read_text(encoding="utf-8")
    expected = pip_requirement_files(script)
    assert expected == ["requirements/bootstrap.txt", "requirements.txt"]
    for title in ("The two commands", "Without Docker: the DAGs in `airflow standalone`"):
        assert pip_requirement_files(section(title)) == expected, title


def test_urls_after_the_docker_command_match_the_published_ports() -> None:
    services = load_compose()["services"]
    ports = {name: services[name]["ports"][0] for name in ("airflow-apiserver", "kibana")}
    assert ports["airflow-apiserver"] == "127.0.0.1:${AIRFLOW_PORT:-8080}:8080"
    assert ports["kibana"] == "127.0.0.1:${KIBANA_PORT:-5601}:5601"
    first = section("The two commands")
    assert "<http://localhost:8080>" in first and "<http://localhost:5601>" in first
    assert "AIRFLOW_ADMIN_PASSWORD" in first and "ELASTIC_PASSWORD" in first


PIPELINE_COMMANDS = sorted({line for line in code_lines(README)
                            if line.startswith("python -m pipeline ") and "…" not in line})


@pytest.mark.parametrize("command", PIPELINE_COMMANDS)
def test_every_pipeline_command_in_the_readme_parses(command: str) -> None:
    argv = shlex.split(command)[3:]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"README command {command!r} does not parse (exit {exc.code})")


def test_readme_lists_the_pipeline_commands() -> None:
    assert len(PIPELINE_COMMANDS) >= 8


def test_files_and_modules_the_readme_names_exist() -> None:
    names = set(re.findall(r"\b((?:docs|dags|scripts|config|kibana|pipeline|requirements|search-engine)/[\w./<>-]+)", README))
    for name in sorted(names):
        if "<" in name:
            continue
        assert (REPO / name.rstrip(".")).exists(), f"README names {name}, which does not exist"
    for module in set(re.findall(r"python -m (kibana\.\w+|bench)\b", README)):
        path = REPO / module.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), module


def test_dags_the_readme_names_exist() -> None:
    dag_sources = "".join(p.read_text(encoding="utf-8") for p in (REPO / "dags").glob("*.py"))
    for dag_id in sorted(set(re.findall(r"\bnews_[a-z_]+\b", README)) - {"news_host_"}):
        assert f'"{dag_id}"' in dag_sources, f"README names DAG {dag_id}, which dags/ does not define"
