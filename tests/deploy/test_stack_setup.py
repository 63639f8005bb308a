"""scripts/stack_setup.py (the compose `setup` service) against local HTTP servers standing in for
Elasticsearch's security API and Kibana's status and saved-objects import APIs."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kibana.import_saved_objects import KibanaImportError, import_saved_objects
from tests.deploy.helpers import REPO
from tests.search_target import SearchTarget

NDJSON = REPO / "kibana" / "saved_objects.ndjson"
ELASTIC_PASSWORD = "es-secret-123"
KIBANA_PASSWORD = "kb-secret-456"


def load_setup_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("newsflow_stack_setup", REPO / "scripts" / "stack_setup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


stack_setup = load_setup_module()


@pytest.fixture
def config(httpserver: HTTPServer) -> object:
    url = httpserver.url_for("").rstrip("/")
    return stack_setup.SetupConfig.from_env({
        "ES_URL": url, "ES_USERNAME": "elastic", "ES_PASSWORD": ELASTIC_PASSWORD,
        "KIBANA_SYSTEM_PASSWORD": KIBANA_PASSWORD, "SETUP_KIBANA_URL": url,
        "SETUP_SAVED_OBJECTS": str(NDJSON), "SETUP_TIMEOUT_SECONDS": "5", "SETUP_POLL_SECONDS": "0"})


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(auth=("elastic", ELASTIC_PASSWORD), timeout=5) as c:
        yield c


def basic_auth(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(token).decode()


def serve_healthy_stack(httpserver: HTTPServer, imported: list[dict]) -> None:
    object_count = len(NDJSON.read_text(encoding="utf-8").splitlines())
    httpserver.expect_oneshot_request("/", method="GET").respond_with_data("starting", status=503)
    httpserver.expect_request("/", method="GET").respond_with_json({"version": {"number": "9.5.3"}})

    def set_password(request: Request) -> Response:
        assert basic_auth(request) == f"elastic:{ELASTIC_PASSWORD}"
        assert request.get_json() == {"password": KIBANA_PASSWORD}
        return Response("{}", content_type="application/json")

    httpserver.expect_oneshot_request("/_security/user/kibana_system/_password", method="POST").respond_with_json(
        {"error": {"type": "unavailable_shards_exception"}, "status": 503}, status=503)
    httpserver.expect_request("/_security/user/kibana_system/_password", method="POST").respond_with_handler(
        set_password)
    httpserver.expect_oneshot_request("/api/status").respond_with_data("Kibana server is not ready yet", status=503)
    httpserver.expect_oneshot_request("/api/status").respond_with_json(
        {"status": {"overall": {"level": "unavailable"}}}, status=200)
    httpserver.expect_request("/api/status").respond_with_json({"status": {"overall": {"level": "available"}}})

    def import_objects(request: Request) -> Response:
        assert request.headers.get("kbn-xsrf") == "true"
        assert request.args.get("overwrite") == "true"
        upload = request.files["file"]
        lines = upload.read().decode().splitlines()
        imported.extend(json.loads(line) for line in lines)
        body = {"success": True, "successCount": len(lines),
                "successResults": [{"id": o["id"], "type": o["type"]} for o in imported]}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/saved_objects/_import", method="POST").respond_with_handler(import_objects)
    assert object_count


def test_setup_sets_the_password_runs_es_setup_and_imports_every_object(
        httpserver: HTTPServer, config: object, client: httpx.Client) -> None:
    imported: list[dict] = []
    serve_healthy_stack(httpserver, imported)
    calls: list[str] = []
    count = stack_setup.run_setup(config, client=client, es_setup=lambda: calls.append("es-setup"))
    assert calls == ["es-setup"]
    assert count == len(imported) == len(NDJSON.read_text(encoding="utf-8").splitlines())
    assert {o["type"] for o in imported} == {"index-pattern", "search", "lens", "dashboard"}
    paths = [request.path for request, _ in httpserver.log]
    assert paths.index("/_security/user/kibana_system/_password") < paths.index("/api/saved_objects/_import")


def test_wrong_elastic_password_fails_at_once_without_printing_it(
        httpserver: HTTPServer, config: object, client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/").respond_with_json(
        {"error": {"type": "security_exception"}, "status": 401}, status=401)
    with pytest.raises(stack_setup.SetupError, match=r"rejected \(HTTP 401\)") as excinfo:
        stack_setup.run_setup(config, client=client, es_setup=lambda: None)
    assert ELASTIC_PASSWORD not in str(excinfo.value)
    assert len(httpserver.log) == 1


def test_password_change_refused_is_reported_with_elasticsearch_reason(
        httpserver: HTTPServer, config: object, client: httpx.Client) -> None:
    httpserver.expect_request("/").respond_with_json({"version": {"number": "9.5.3"}})
    httpserver.expect_request("/_security/user/kibana_system/_password", method="POST").respond_with_json(
        {"error": {"type": "security_exception", "reason": "action unauthorized"}, "status": 403}, status=403)
    with pytest.raises(stack_setup.SetupError) as excinfo:
        stack_setup.run_setup(config, client=client, es_setup=lambda: None)
    assert "HTTP 403 (security_exception)" in str(excinfo.value)
    assert KIBANA_PASSWORD not in str(excinfo.value)


def test_elasticsearch_that_never_comes_up_times_out_with_the_last_cause(
        httpserver: HTTPServer, client: httpx.Client) -> None:
    url = httpserver.url_for("").rstrip("/")
    config = stack_setup.SetupConfig(es_url=url, es_username="elastic", es_password=ELASTIC_PASSWORD,
                                     kibana_system_password=KIBANA_PASSWORD, kibana_url=url,
                                     saved_objects=NDJSON, timeout_seconds=0, poll_seconds=0)
    httpserver.expect_request("/").respond_with_data("starting", status=503)
    with pytest.raises(stack_setup.SetupError, match=r"elasticsearch not ready after 0s: .*HTTP 503"):
        stack_setup.wait_for_elasticsearch(client, config)


def test_kibana_import_errors_name_the_objects(httpserver: HTTPServer, client: httpx.Client) -> None:
    httpserver.expect_request("/api/saved_objects/_import", method="POST").respond_with_json({
        "success": False, "successCount": 8,
        "errors": [{"id": "newsflow-dashboard-news", "type": "dashboard",
                    "error": {"type": "missing_references"}}]})
    with pytest.raises(KibanaImportError, match=r"dashboard/newsflow-dashboard-news \(missing_references\)"):
        import_saved_objects(client, httpserver.url_for("/"), NDJSON)


def test_missing_settings_are_named(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    assert stack_setup.main({"ES_URL": "http://127.0.0.1:9"}) == 1
    assert "ES_PASSWORD, KIBANA_SYSTEM_PASSWORD, SETUP_KIBANA_URL not set" in caplog.text


def test_placeholder_passwords_are_warned_about(
        httpserver: HTTPServer, client: httpx.Client, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    url = httpserver.url_for("").rstrip("/")
    config = stack_setup.SetupConfig(es_url=url, es_username="elastic", es_password="change-me",
                                     kibana_system_password=KIBANA_PASSWORD, kibana_url=url,
                                     saved_objects=NDJSON, timeout_seconds=0, poll_seconds=0)
    httpserver.expect_request("/").respond_with_json({"error": "x"}, status=401)
    caplog.set_level(logging.WARNING)
    with pytest.raises(stack_setup.SetupError):
        stack_setup.run_setup(config, client=client, es_setup=lambda: None)
    assert "ELASTIC_PASSWORD is still the .env.example placeholder" in caplog.text


def test_a_degraded_kibana_is_usable_and_said_so(httpserver: HTTPServer, config: object, client: httpx.Client,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/api/status").respond_with_json({"status": {"overall": {"level": "degraded"}}})
    caplog.set_level(logging.INFO)
    stack_setup.wait_for_kibana(client, config)
    assert "reports status degraded" in caplog.text


def test_es_setup_is_retried_while_elasticsearch_fails_and_stops_on_unusable_input(
        config: object, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    flaky = ["bash", "-c", f'echo x >> "{counter}"; [ "$(wc -l < "{counter}")" -ge 2 ]']
    stack_setup.run_es_setup({}, config, command=flaky)  # exit 1 once, then 0
    assert counter.read_text().count("x") == 2
    with pytest.raises(stack_setup.SetupError, match="exit code 2"):
        stack_setup.run_es_setup({}, config, command=["bash", "-c", "exit 2"])


def test_es_setup_step_creates_the_index_and_aliases_on_each_engine(search: SearchTarget) -> None:
    """The real `python -m pipeline es-setup`, run the way the setup container runs it."""
    config = stack_setup.SetupConfig(es_url=search.url, es_username="elastic", es_password=ELASTIC_PASSWORD,
                                     kibana_system_password=KIBANA_PASSWORD, kibana_url="http://127.0.0.1:9",
                                     saved_objects=NDJSON, timeout_seconds=0, poll_seconds=0)
    env = {"ES_URL": search.url, "ES_USERNAME": "", "ES_PASSWORD": "", "ES_API_KEY": ""}
    stack_setup.run_es_setup(env, config)
    stack_setup.run_es_setup(env, config)  # idempotent: the compose `setup` runs at every `up`
    aliases = httpx.get(f"{search.url}/_alias/news-articles", timeout=10).json()
    assert len(aliases) == 1 and next(iter(aliases)).startswith("news-articles-v")
    write = httpx.get(f"{search.url}/_alias/news-articles-write", timeout=10).json()
    assert set(write) == set(aliases)
