"""Zero-downtime reindex: a new index version filled, checked, then swapped in atomically.

1. `create_version(es)` creates `news-articles-v<N+1>` (settings and mapping from the current
   template, no alias yet): searches and writes keep going to the live version.
2. The caller fills it (`index_documents(es, docs, index=new_name, …)`).
3. `check_version(es, new_name, expected=…)` refreshes and counts it: at least the documents
   just indexed and at least as many as the live version holds.
4. `swap_aliases(es, new_name)` moves the read and the write alias in ONE `_aliases` call, so
   every search sees either the old or the new index, never none.
5. The old version stays until `drop_index(es, name)` (refused while an alias points to it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from pipeline.index.connection import READ_ALIAS, WRITE_ALIAS
from pipeline.index.setup import (
    alias_targets,
    ensure_template,
    index_version,
    list_versions,
    version_name,
)

log = logging.getLogger(__name__)


class ReindexError(RuntimeError):
    """A version cannot be created, swapped in or dropped (the message says why)."""


@dataclass
class VersionCheck:
    index: str
    count: int
    expected: int
    live_index: str | None
    live_count: int

    @property
    def ok(self) -> bool:
        return self.count >= self.expected and self.count >= self.live_count

    def describe(self) -> str:
        live = f"{self.live_index} holds {self.live_count}" if self.live_index else "no live index"
        return f"{self.index} holds {self.count} documents (expected at least {self.expected}; {live})"


def next_version(es: Elasticsearch) -> str:
    numbers = [index_version(name) or 0 for name in list_versions(es)]
    return version_name(max(numbers, default=0) + 1)


def create_version(es: Elasticsearch) -> str:
    """Create the next index version (template brought up to date first) and return its name."""
    ensure_template(es)
    name = next_version(es)
    es.indices.create(index=name)
    log.info("created index %s (no alias yet)", name)
    return name


def live_index(es: Elasticsearch) -> str | None:
    targets = alias_targets(es, READ_ALIAS)
    return targets[-1] if targets else None


def count(es: Elasticsearch, index: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def check_version(es: Elasticsearch, index: str, *, expected: int) -> VersionCheck:
    live = live_index(es)
    live_count = count(es, live) if live and live != index else 0
    return VersionCheck(index=index, count=count(es, index), expected=expected, live_index=live,
                        live_count=live_count)


def swap_aliases(es: Elasticsearch, new_index: str) -> None:
    """Point `news-articles` and `news-articles-write` at `new_index` in one atomic call."""
    if index_version(new_index) is None:
        raise ReindexError(f"{new_index!r} is not an index version ({READ_ALIAS}-v<N>)")
    if not es.indices.exists(index=new_index):
        raise ReindexError(f"index {new_index} does not exist")
    actions: list[dict[str, Any]] = []
    for alias in (READ_ALIAS, WRITE_ALIAS):
        actions += [{"remove": {"index": old, "alias": alias}}
                    for old in alias_targets(es, alias) if old != new_index]
    actions.append({"add": {"index": new_index, "alias": READ_ALIAS}})
    actions.append({"add": {"index": new_index, "alias": WRITE_ALIAS, "is_write_index": True}})
    es.indices.update_aliases(actions=actions)
    log.info("aliases %s and %s now point to %s", READ_ALIAS, WRITE_ALIAS, new_index)


def drop_index(es: Elasticsearch, name: str) -> None:
    """Delete an old index version; refuses anything that is not `news-articles-v<N>` or
    that an alias still points to."""
    if index_version(name) is None:
        raise ReindexError(f"{name!r} is not an index version of {READ_ALIAS} (news-articles-v<N>); "
                           "refusing to delete it")
    try:
        info = es.indices.get_alias(index=name)
    except NotFoundError:
        raise ReindexError(f"index {name} does not exist") from None
    aliases = sorted((info.get(name) or {}).get("aliases", {}))
    if aliases:
        raise ReindexError(f"index {name} is in use (alias {', '.join(aliases)} points to it); "
                           "swap the aliases first")
    es.indices.delete(index=name)
    log.info("deleted index %s", name)
