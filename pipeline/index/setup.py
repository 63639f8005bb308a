"""`es-setup`: the index template, the first index version and both aliases, idempotently.

The template file `pipeline/index/templates/news-articles.json` is the single source of the
settings and mapping. Its sha256 is stored in the template's and the index mapping's `_meta`
(`template_sha256`, `analysis_sha256`), which is how a second run knows nothing changed
without comparing Elasticsearch's normalised form of settings field by field.

A changed mapping is applied to the live index with a put-mapping when Elasticsearch accepts
it (new fields); a conflicting change or changed analyzers need a new index version
(`python -m pipeline reindex`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from pipeline.index.connection import INDEX_PREFIX, READ_ALIAS, TEMPLATE_NAME, WRITE_ALIAS, describe_error

log = logging.getLogger(__name__)

TEMPLATE_PATH = Path(__file__).parent / "templates" / "news-articles.json"
_VERSION_RE = re.compile(rf"^{re.escape(INDEX_PREFIX)}(\d+)$")


class SetupError(RuntimeError):
    """The cluster's indices are in a state es-setup must not repair on its own."""


@dataclass
class SetupResult:
    template: str = "unchanged"  # created | updated | unchanged
    index: str = ""  # the index both aliases point to
    index_status: str = "unchanged"  # created | unchanged
    aliases: str = "unchanged"  # created | repaired | unchanged
    mapping: str = "unchanged"  # unchanged | updated | needs_reindex
    messages: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (self.template, self.index_status, self.aliases, self.mapping) != ("unchanged",) * 4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@cache
def _template_file(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SetupError(f"{path}: cannot load the index template ({exc})") from None


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template body to PUT, with the content hashes added to its `_meta`s."""
    body = copy.deepcopy(_template_file(path))
    tsha = _sha(_template_file(path))
    asha = _sha(body["template"]["settings"].get("analysis", {}))
    body.setdefault("_meta", {})["template_sha256"] = tsha
    meta = body["template"]["mappings"].setdefault("_meta", {})
    meta.update({"template_sha256": tsha, "analysis_sha256": asha})
    return body


def index_version(name: str) -> int | None:
    """`news-articles-v3` -> 3; anything else -> None."""
    m = _VERSION_RE.match(name)
    return int(m.group(1)) if m else None


def version_name(n: int) -> str:
    return f"{INDEX_PREFIX}{n}"


def list_versions(es: Elasticsearch) -> dict[str, set[str]]:
    """Every `news-articles-v<N>` index with the aliases on it, in version order."""
    try:
        resp = es.indices.get_alias(index=f"{INDEX_PREFIX}*")
    except NotFoundError:
        return {}
    found = {name: set((info or {}).get("aliases", {})) for name, info in resp.items()
             if index_version(name) is not None}
    return dict(sorted(found.items(), key=lambda kv: index_version(kv[0]) or 0))


def alias_targets(es: Elasticsearch, alias: str) -> list[str]:
    try:
        return sorted(es.indices.get_alias(name=alias))
    except NotFoundError:
        return []


def ensure_template(es: Elasticsearch, *, template_path: Path = TEMPLATE_PATH) -> str:
    """PUT the index template when missing or different: created | updated | unchanged."""
    body = load_template(template_path)
    try:
        current = es.indices.get_index_template(name=TEMPLATE_NAME)
        templates = current.get("index_templates", [])
    except NotFoundError:
        templates = []
    if templates:
        meta = templates[0].get("index_template", {}).get("_meta") or {}
        if meta.get("template_sha256") == body["_meta"]["template_sha256"]:
            return "unchanged"
    es.indices.put_index_template(name=TEMPLATE_NAME, body=body)
    return "updated" if templates else "created"


def ensure_indices(es: Elasticsearch, *, template_path: Path = TEMPLATE_PATH) -> SetupResult:
    """Template, first index version and aliases; a second run changes nothing."""
    result = SetupResult(template=ensure_template(es, template_path=template_path))
    versions = list_versions(es)
    readers = [n for n, aliases in versions.items() if READ_ALIAS in aliases]
    writers = [n for n, aliases in versions.items() if WRITE_ALIAS in aliases]
    if not versions:
        name = version_name(1)
        try:
            es.indices.create(index=name, aliases={READ_ALIAS: {}, WRITE_ALIAS: {"is_write_index": True}})
        except BadRequestError as exc:
            if _error_type(exc) != "resource_already_exists_exception":
                raise
            # another es-setup (the compose setup service, an ingest run) created it meanwhile:
            # carry on as a second run would
            versions = list_versions(es)
            readers = [n for n, aliases in versions.items() if READ_ALIAS in aliases]
            writers = [n for n, aliases in versions.items() if WRITE_ALIAS in aliases]
        else:
            result.index, result.index_status, result.aliases = name, "created", "created"
            result.messages.append(f"created index {name} with aliases {READ_ALIAS}, {WRITE_ALIAS}")
            return result
    if len(readers) > 1 or len(writers) > 1:
        raise SetupError(f"alias {READ_ALIAS} or {WRITE_ALIAS} points to several indices "
                         f"({', '.join(readers or writers)}): fix the aliases by hand")
    target = (writers or readers or list(versions))[-1]
    if target not in readers or target not in writers:
        actions: list[dict[str, Any]] = []
        if target not in readers:
            actions += [{"remove": {"index": n, "alias": READ_ALIAS}} for n in readers]
            actions.append({"add": {"index": target, "alias": READ_ALIAS}})
        if target not in writers:
            actions += [{"remove": {"index": n, "alias": WRITE_ALIAS}} for n in writers]
            actions.append({"add": {"index": target, "alias": WRITE_ALIAS, "is_write_index": True}})
        es.indices.update_aliases(actions=actions)
        result.aliases = "repaired"
        result.messages.append(f"aliases {READ_ALIAS}, {WRITE_ALIAS} now point to {target}")
    result.index = target
    result.mapping = _ensure_mapping(es, target, result, template_path)
    return result


def _error_type(exc: BadRequestError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error")
    return err.get("type") if isinstance(err, dict) else None


def _ensure_mapping(es: Elasticsearch, index: str, result: SetupResult, template_path: Path) -> str:
    desired = load_template(template_path)["template"]["mappings"]
    current = es.indices.get_mapping(index=index).get(index, {}).get("mappings", {})
    meta = current.get("_meta") or {}
    if meta.get("template_sha256") == desired["_meta"]["template_sha256"]:
        return "unchanged"
    if meta.get("analysis_sha256") != desired["_meta"]["analysis_sha256"]:
        result.messages.append(f"{index}: the analyzers changed; build a new index version with "
                               "`python -m pipeline reindex` to apply them")
        return "needs_reindex"
    try:
        es.indices.put_mapping(index=index, dynamic=desired.get("dynamic"),
                               properties=desired["properties"], meta=desired["_meta"])
    except BadRequestError as exc:
        result.messages.append(f"{index}: the mapping change cannot be applied in place "
                               f"({describe_error(exc)}); run `python -m pipeline reindex`")
        return "needs_reindex"
    result.messages.append(f"{index}: mapping updated in place (additive change)")
    return "updated"
