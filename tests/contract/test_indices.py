"""Contract: root info, index templates, index create/exists/delete, mappings, aliases —
with the response fields pipeline/index reads."""

from __future__ import annotations

import pytest
from elasticsearch import BadRequestError, NotFoundError

from tests.contract.conftest import Target

pytestmark = pytest.mark.contract


def test_info(es_target: Target) -> None:
    info = es_target.es.info()  # the client's product check passed, too
    assert isinstance(info["version"]["number"], str)
    assert info.meta.headers.get("X-Elastic-Product") == "Elasticsearch"


def test_index_template_put_and_get(es_target: Target) -> None:
    es = es_target.es
    with pytest.raises(NotFoundError):
        es.indices.get_index_template(name=es_target.prefix)
    es_target.put_template()
    got = es.indices.get_index_template(name=es_target.prefix)["index_templates"]
    assert [t["name"] for t in got] == [es_target.prefix]
    template = got[0]["index_template"]
    body = es_target.template_body()
    assert template["index_patterns"] == body["index_patterns"]
    assert template["_meta"]["template_sha256"] == body["_meta"]["template_sha256"]
    assert template["template"]["mappings"]["_meta"] == body["template"]["mappings"]["_meta"]
    # PUT again with the same body is accepted (es-setup only re-puts a changed one)
    es.indices.put_index_template(name=es_target.prefix, body=body)


def test_index_create_exists_delete_and_template_applied(es_target: Target) -> None:
    es = es_target.es
    name = es_target.index(1)
    assert not es.indices.exists(index=name)
    es_target.put_template()
    resp = es.indices.create(index=name)
    assert resp["acknowledged"] is True and resp["index"] == name
    assert es.indices.exists(index=name)
    with pytest.raises(BadRequestError) as info:
        es.indices.create(index=name)
    assert info.value.body["error"]["type"] == "resource_already_exists_exception"
    mapping = es.indices.get_mapping(index=name)[name]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["_meta"] == es_target.template_body()["template"]["mappings"]["_meta"]
    props = mapping["properties"]
    assert props["text_fr"] == {"type": "text", "analyzer": "news_french"}
    assert props["entities"]["properties"]["per"] == {"type": "keyword"}
    assert props["entities_detail"] == {"type": "object", "enabled": False}
    assert props["published_at"]["type"] == "date"
    assert es.indices.delete(index=name)["acknowledged"] is True
    assert not es.indices.exists(index=name)
    with pytest.raises(NotFoundError) as missing:
        es.indices.delete(index=name)
    assert missing.value.body["error"]["type"] == "index_not_found_exception"


def test_put_mapping_additive_accepted_conflicting_refused(es_target: Target) -> None:
    es = es_target.es
    name = es_target.create_live()
    mappings = es_target.template_body()["template"]["mappings"]
    props = dict(mappings["properties"], new_keyword={"type": "keyword"})
    meta = dict(mappings["_meta"], template_sha256="changed")
    assert es.indices.put_mapping(index=name, dynamic="strict", properties=props, meta=meta)["acknowledged"]
    mapping = es.indices.get_mapping(index=name)[name]["mappings"]
    assert mapping["properties"]["new_keyword"] == {"type": "keyword"}
    assert mapping["_meta"]["template_sha256"] == "changed"
    with pytest.raises(BadRequestError) as info:
        es.indices.put_mapping(index=name, properties={"source": {"type": "text"}})
    assert info.value.body["error"]["type"] == "illegal_argument_exception"


def test_aliases_get_and_atomic_swap(es_target: Target) -> None:
    es = es_target.es
    v1 = es_target.create_live()
    read, write = es_target.read_alias, es_target.write_alias
    assert es.indices.get_alias(name=read) == {v1: {"aliases": {read: {}}}}
    assert es.indices.get_alias(name=write)[v1]["aliases"][write]["is_write_index"] is True
    v2 = es_target.index(2)
    es.indices.create(index=v2)
    listed = es.indices.get_alias(index=f"{es_target.prefix}-v*")
    assert set(listed) == {v1, v2}
    assert set(listed[v1]["aliases"]) == {read, write} and listed[v2]["aliases"] == {}
    assert es.indices.get_alias(index=v2) == {v2: {"aliases": {}}}
    with pytest.raises(NotFoundError):
        es.indices.get_alias(name=f"{es_target.prefix}-nothing")

    resp = es.indices.update_aliases(actions=[
        {"remove": {"index": v1, "alias": read}},
        {"remove": {"index": v1, "alias": write}},
        {"add": {"index": v2, "alias": read}},
        {"add": {"index": v2, "alias": write, "is_write_index": True}},
    ])
    assert resp["acknowledged"] is True
    assert list(es.indices.get_alias(name=read)) == [v2]
    assert es.indices.get_alias(name=write)[v2]["aliases"][write]["is_write_index"] is True
    # writes through the write alias land in v2, reads through the read alias see them
    es.index(index=write, id="a1", document={"id": "a1", "source": "rts"}, refresh=True)
    assert es.get(index=v2, id="a1")["found"] is True
    assert es.count(index=read)["count"] == 1


def test_alias_actions_are_atomic(es_target: Target) -> None:
    es = es_target.es
    v1 = es_target.create_live()
    with pytest.raises(NotFoundError):
        es.indices.update_aliases(actions=[
            {"remove": {"index": v1, "alias": es_target.read_alias}},
            {"add": {"index": es_target.index(9), "alias": es_target.read_alias}},
        ])
    assert list(es.indices.get_alias(name=es_target.read_alias)) == [v1]  # nothing applied


def test_write_alias_on_several_indices_needs_a_write_index(es_target: Target) -> None:
    es = es_target.es
    v1 = es_target.create_live()
    v2 = es_target.index(2)
    es.indices.create(index=v2, aliases={es_target.read_alias: {}})
    assert set(es.indices.get_alias(name=es_target.read_alias)) == {v1, v2}
    with pytest.raises(BadRequestError):  # an alias over two indices, none of them the write index
        es.index(index=es_target.read_alias, id="x", document={"id": "x"})
    es.index(index=es_target.write_alias, id="x", document={"id": "x"}, refresh=True)
    assert es.get(index=v1, id="x")["found"] is True
