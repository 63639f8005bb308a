from __future__ import annotations

import base64
import json
import logging
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from pipeline.index.bulk import BulkOptions, IndexingError, index_documents
from pipeline.index.connection import EsConfig, EsConnectionError, connect, redact_url
from pipeline.index.setup import ensure_indices
from tests.index.factory import make_document

PRODUCT = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}
INFO = {"name": "n", "cluster_name": "c", "version": {"number": "9.1.0"}, "tagline": "You Know, for Search"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redact_url() -> None:
    assert redact_url("https://elastic:s3cr%40t@es.example:9200/x") == "https://***@es.example:9200/x"
    assert redact_url("http://localhost:9200") == "http://localhost:9200"


def test_config_from_env_and_repr_hides_secrets(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = EsConfig.from_env(None, {"ES_URL": "https://u:pw@es:9200", "ES_USERNAME": "elastic",
                                   "ES_PASSWORD": "hunter2", "ES_CA_CERTS": str(ca), "ES_TIMEOUT": "5"})
    assert cfg.timeout == 5.0 and cfg.ca_certs == str(ca)
    assert "hunter2" not in repr(cfg) and "pw" not in repr(cfg) and "***@es" in repr(cfg)
    assert EsConfig.from_env("localhost:9200", {}).url == "http://localhost:9200"


@pytest.mark.parametrize(("env", "message"), [
    ({}, "set ES_URL or pass --es-url"),
    ({"ES_URL": "ftp://x"}, "is not an http(s) URL"),
    ({"ES_URL": "http://x:9200", "ES_CA_CERTS": "/nonexistent/ca.crt"}, "ES_CA_CERTS: /nonexistent/ca.crt"),
    ({"ES_URL": "http://x:9200", "ES_TIMEOUT": "soon"}, "not a number"),
    ({"ES_URL": "http://elastic:pw-7@x:abc"}, "'http://***@x:abc' cannot be parsed"),
    ({"ES_URL": "http://elastic:pw-7@x:99999"}, "cannot be parsed (Port out of range"),
    ({"ES_URL": "http://[::1"}, "cannot be parsed (Invalid IPv6 URL)"),
    ({"ES_URL": "http://x:9200", "ES_COMPAT_VERSION": "10"}, "ES_COMPAT_VERSION '10': must be one of 7, 8, 9"),
])
def test_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(EsConnectionError) as info:
        EsConfig.from_env(None, env)
    assert message in str(info.value) and "pw-7" not in str(info.value)


def test_unreachable_cluster_is_one_clear_line_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://elastic:topsecret@127.0.0.1:{_free_port()}"
    with pytest.raises(EsConnectionError) as info:
        connect(url, environ={})
    text = str(info.value)
    assert "unreachable" in text and "***@127.0.0.1" in text and "\n" not in text
    assert "topsecret" not in text and "topsecret" not in caplog.text


def test_wrong_credentials_401(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        json.dumps({"error": {"type": "security_exception", "reason": "unable to authenticate user [elastic]"},
                    "status": 401}), status=401, headers=PRODUCT)
    with pytest.raises(EsConnectionError) as info:
        connect(httpserver.url_for("/"), environ={"ES_USERNAME": "elastic", "ES_PASSWORD": "wrongpass"})
    assert "refused the credentials (401)" in str(info.value)
    assert "wrongpass" not in str(info.value)
    auth = httpserver.log[0][0].headers.get("Authorization")
    assert auth and auth.startswith("Basic ")


def test_forbidden_403_and_api_key(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        json.dumps({"error": {"type": "security_exception", "reason": "action [cluster:monitor/main] is unauthorized"},
                    "status": 403}), status=403, headers=PRODUCT)
    with pytest.raises(EsConnectionError, match=r"lacks privileges \(403\)"):
        connect(httpserver.url_for("/"), environ={"ES_API_KEY": "a2V5OnNlY3JldA=="})
    assert httpserver.log[0][0].headers.get("Authorization") == "ApiKey a2V5OnNlY3JldA=="


def test_not_elasticsearch(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_json({"hello": "world"})
    with pytest.raises(EsConnectionError, match="does not answer as Elasticsearch"):
        connect(httpserver.url_for("/"), environ={})


def _elasticsearch_8(httpserver: HTTPServer) -> None:
    """Answers like an Elasticsearch 8 node: REST compatibility 7 or 8 only."""
    from werkzeug import Request, Response

    def handle(request: Request) -> Response:
        for name in ("Accept", "Content-Type"):
            value = request.headers.get(name, "")
            if "compatible-with" in value and "compatible-with=8" not in value:
                err = {"type": "media_type_header_exception", "reason": f"Invalid media-type value on headers [{name}]"}
                return Response(json.dumps({"error": err, "status": 400}), status=400, headers=PRODUCT)
        body = INFO if request.path == "/" else {"took": 1, "timed_out": False, "hits": {"hits": []}}
        return Response(json.dumps(body), headers=PRODUCT)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(handle)


def test_compat_version_is_a_setting_for_an_elasticsearch_8_cluster(httpserver: HTTPServer) -> None:
    _elasticsearch_8(httpserver)
    with pytest.raises(EsConnectionError, match=r"media_type_header_exception.*set ES_COMPAT_VERSION"):
        connect(httpserver.url_for("/"), environ={})
    es = connect(httpserver.url_for("/"), environ={"ES_COMPAT_VERSION": "8"})
    es.search(index="x", query={"match_all": {}})  # a body: Content-Type is pinned too
    request = httpserver.log[-1][0]
    assert "compatible-with=8" in request.headers["Accept"] and "compatible-with=8" in request.headers["Content-Type"]


def test_connect_ok(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(json.dumps(INFO), headers=PRODUCT)
    es = connect(httpserver.url_for("/"), environ={})
    assert es.info()["version"]["number"] == "9.1.0"


def test_credentials_against_the_double(es_double: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    es_double.security.enable(users={"elastic": "right-pw-1"}, api_keys={"kid": "right-key-2"})
    for env in ({"ES_USERNAME": "elastic", "ES_PASSWORD": "wrong-pw-3"}, {"ES_API_KEY": "kid:wrong-key-4"}, {}):
        with pytest.raises(EsConnectionError, match=r"refused the credentials \(401\)") as info:
            connect(es_double.url, environ=env)
        assert "\n" not in str(info.value)
    encoded = base64.b64encode(b"kid:right-key-2").decode()
    for env in ({"ES_USERNAME": "elastic", "ES_PASSWORD": "right-pw-1"}, {"ES_API_KEY": "kid:right-key-2"},
                {"ES_API_KEY": encoded}):
        assert not connect(es_double.url, environ=env).indices.exists(index="nothing")
    in_url = es_double.url.replace("http://", "http://elastic:right-pw-1@")
    assert connect(in_url, environ={}).info()["version"]["number"]
    for secret in ("right-pw-1", "wrong-pw-3", "right-key-2", "wrong-key-4", encoded):
        assert secret not in caplog.text


def test_bulk_failures_never_show_the_secret(es_double: Any, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    es_double.security.enable(users={"elastic": "bulk-secret-5"})
    es = connect(es_double.url.replace("http://", "http://elastic:bulk-secret-5@"), environ={})
    ensure_indices(es)
    es_double.faults.down()
    opts = BulkOptions(max_retries=1, initial_backoff=0.001)
    with pytest.raises(IndexingError) as info:
        index_documents(es, [make_document(1)], dead_letter_path=tmp_path / "dl.jsonl", options=opts)
    assert "unavailable" in str(info.value)
    assert "bulk-secret-5" not in str(info.value) and "bulk-secret-5" not in caplog.text
