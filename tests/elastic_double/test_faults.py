"""Fault injection and the request log of the double, seen through the official client."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch, helpers
from elasticsearch import ConnectionError as EsConnectionError

from tests.elastic_double import EsDoubleServer


@pytest.fixture
def es(es_double: Any) -> Elasticsearch:
    """A client that does not retry, so every injected fault is visible."""
    return Elasticsearch(es_double.url, max_retries=0, request_timeout=10)


def _ops(n: int, index: str = "f") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        out += [{"index": {"_index": index, "_id": str(i)}}, {"n": i}]
    return out


def test_bulk_429_on_nth_request_for_k_times(es: Elasticsearch, es_double: Any) -> None:
    es_double.faults.reject_bulk(nth=2, times=2, retry_after=1)
    assert es.bulk(operations=_ops(1))["errors"] is False
    for _ in range(2):
        with pytest.raises(ApiError) as exc:
            es.bulk(operations=_ops(2))
        assert exc.value.meta.status == 429
        assert exc.value.body["error"]["type"] == "es_rejected_execution_exception"
        assert exc.value.meta.headers["Retry-After"] == "1"
    assert es.bulk(operations=_ops(3))["errors"] is False
    assert es.count(index="f")["count"] == 3
    assert len(es_double.requests_to("/_bulk", "PUT")) + len(es_double.requests_to("/_bulk", "POST")) == 4


def test_bulk_429_per_item_is_retried_by_the_helpers(es: Elasticsearch, es_double: Any) -> None:
    es_double.faults.reject_bulk(nth=1, times=2, per_item=True)
    resp = es.bulk(operations=_ops(2))
    assert resp["errors"] is True
    assert [i["index"]["status"] for i in resp["items"]] == [429, 429]
    assert resp["items"][0]["index"]["error"]["type"] == "es_rejected_execution_exception"
    actions = ({"_index": "g", "_id": str(i), "_source": {"n": i}} for i in range(5))
    results = list(helpers.streaming_bulk(es, actions, max_retries=3, initial_backoff=0, max_backoff=0,
                                         raise_on_error=False))
    assert all(ok for ok, _ in results) and len(results) == 5
    assert es.count(index="g")["count"] == 5


def test_client_retries_through_429_and_503(es_double: Any) -> None:
    retrying = Elasticsearch(es_double.url, max_retries=3, retry_on_status=(429, 503))
    es_double.faults.reject_bulk(nth=1, times=2)
    assert retrying.bulk(operations=_ops(2))["errors"] is False
    es_double.faults.unavailable(count=2, path=r"/_search$")
    assert retrying.search(index="f")["hits"]["total"]["value"] == 2
    assert len(es_double.requests_to("/_search")) == 3


def test_503_for_the_next_n_matching_requests(es: Elasticsearch, es_double: Any) -> None:
    es.indices.create(index="u")
    es_double.faults.unavailable(count=2, path=r"^/u/_count$")
    assert es.info()["tagline"]  # other paths are not affected
    for _ in range(2):
        with pytest.raises(ApiError) as exc:
            es.count(index="u")
        assert exc.value.meta.status == 503
        assert exc.value.body["status"] == 503
    assert es.count(index="u")["count"] == 0
    es_double.faults.unavailable(count=1)
    with pytest.raises(ApiError) as exc:
        es.info()
    assert exc.value.meta.status == 503
    assert es_double.faults.injected == 3


def test_dropped_connection_mid_bulk(es: Elasticsearch, es_double: Any) -> None:
    es_double.faults.drop_bulk(nth=1, apply_items=1)
    with pytest.raises(EsConnectionError):
        es.bulk(operations=_ops(3, "d"))
    assert es.count(index="d")["count"] == 1  # the first item was applied before the drop
    assert es.bulk(operations=_ops(3, "d"))["errors"] is False
    assert es.count(index="d")["count"] == 3


def test_slow_responses_trip_client_timeouts(es_double: Any) -> None:
    impatient = Elasticsearch(es_double.url, max_retries=0, request_timeout=0.2)
    es_double.faults.delay(1.0, path=r"^/$", count=1)
    with pytest.raises(ConnectionTimeout):
        impatient.info()
    assert impatient.info()["tagline"]


def test_down_refuses_connections_until_up(es: Elasticsearch, es_double: Any) -> None:
    assert es.ping()  # a pooled keep-alive connection exists now
    es_double.faults.down()
    with pytest.raises(EsConnectionError):
        es.info()
    with pytest.raises(EsConnectionError):
        Elasticsearch(es_double.url, max_retries=0).info()
    es_double.faults.up()
    assert es.info()["tagline"] == "You Know, for Search"


def test_reset_restores_listening_and_clears_everything(es: Elasticsearch, es_double: Any) -> None:
    es.indices.create(index="r")
    es_double.faults.unavailable(count=5)
    es_double.faults.down()
    es_double.reset()
    assert not es.indices.exists(index="r")
    assert [r.path for r in es_double.requests] == ["/r"]


def test_request_log_records_method_path_params_and_body(es: Elasticsearch, es_double: Any) -> None:
    es.index(index="log", id="1", document={"a": 1}, refresh=True)
    es.bulk(operations=_ops(1, "log"))
    es.search(index="log", query={"match_all": {}}, size=3)
    first, bulk, search = es_double.requests
    assert (first.method, first.path, first.params, first.body) == ("PUT", "/log/_doc/1", {"refresh": "true"}, {"a": 1})
    assert bulk.body == [{"index": {"_index": "log", "_id": "0"}}, {"n": 0}]
    assert search.method == "POST" and search.path == "/log/_search"
    assert search.body == {"query": {"match_all": {}}, "size": 3}
    assert search.headers["content-type"].startswith("application/vnd.elasticsearch+json")


def test_standalone_server_object() -> None:
    server = EsDoubleServer("127.0.0.1", 0).start()
    try:
        client = Elasticsearch(server.url)
        assert client.info()["cluster_name"] == "es-double"
        assert server.url.endswith(str(server.port))
    finally:
        server.stop()
    assert not server.listening


def test_runs_standalone_as_a_module() -> None:
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "tests.elastic_double", "--port", "0", "--strict-refresh",
                             "--user", "elastic:changeme"], cwd=repo, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("elastic double listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[-1].strip()
        with pytest.raises(ApiError) as exc:
            Elasticsearch(url, max_retries=0).info()
        assert exc.value.meta.status == 401
        client = Elasticsearch(url, basic_auth=("elastic", "changeme"))
        client.index(index="standalone", id="1", document={"a": "b"})
        assert client.count(index="standalone")["count"] == 0
        client.indices.refresh(index="standalone")
        assert client.count(index="standalone")["count"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_optional_security_basic_auth_and_api_keys(es_double: Any) -> None:
    from elasticsearch import AuthenticationException

    es_double.security.enable(users={"elastic": "s3cret-pw"}, api_keys={"key1": "k3y-secret"})
    with pytest.raises(AuthenticationException) as exc:
        Elasticsearch(es_double.url, max_retries=0).info()
    assert exc.value.body["error"]["type"] == "security_exception"
    assert exc.value.body["error"]["reason"] == "missing authentication credentials for REST request [/]"
    assert "Basic realm" in exc.value.meta.headers["WWW-Authenticate"]
    with pytest.raises(AuthenticationException) as exc:
        Elasticsearch(es_double.url, basic_auth=("elastic", "wrong"), max_retries=0).info()
    assert exc.value.body["error"]["reason"] == "unable to authenticate user [elastic] for REST request [/]"
    admin = Elasticsearch(es_double.url, basic_auth=("elastic", "s3cret-pw"))
    assert admin.security.authenticate()["username"] == "elastic"
    admin.security.change_password(username="kibana_system", password="kibana-pw")
    kibana = Elasticsearch(es_double.url, basic_auth=("kibana_system", "kibana-pw"))
    assert kibana.info()["tagline"]
    by_key = Elasticsearch(es_double.url, api_key=("key1", "k3y-secret"))
    assert by_key.security.authenticate()["authentication_type"] == "api_key"
    with pytest.raises(AuthenticationException):
        Elasticsearch(es_double.url, api_key=("key1", "nope"), max_retries=0).info()
    es_double.security.disable()
    with pytest.raises(ApiError) as exc:
        Elasticsearch(es_double.url).security.change_password(username="kibana_system", password="kibana-pw")
    assert exc.value.meta.status == 500


def test_documents_helper_is_real_time(es: Elasticsearch, es_double: Any) -> None:
    es_double.strict_refresh()
    es.indices.create(index="docs-v1", aliases={"docs": {}})
    es.index(index="docs", id="a", document={"x": 1})
    assert es_double.documents("docs") == {"a": {"x": 1}}
    assert es_double.documents("missing") == {}
