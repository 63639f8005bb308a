"""Extraction on markup nobody designed for: `python -m bench.unseen [--json-out FILE]`.

Scores `extract_article` on tests/fixtures/unseen/ (hand-written goldens) beside trafilatura
on the same pages: per page, then per family (rts, de, it). Columns: title exact; token F1 of
the lead, of the body, and of lead + body together (the only one trafilatura can be scored on,
as it gives one text); boilerplate leaks (golden strings found in title, lead or body).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import mean

import trafilatura

from pipeline.process.extract import extract_article
from tests.process.test_extract_unseen import UNSEEN, token_f1


@dataclass
class Row:
    page: str
    family: str
    evidence_lead: str
    title_exact: bool
    lead_f1: float
    body_f1: float
    text_f1: float
    leaks: int
    trafilatura_text_f1: float


def score(name: str, folder: Path = UNSEEN) -> Row:
    expected = json.loads((folder / f"{name}.expected.json").read_text(encoding="utf-8"))
    html = (folder / f"{name}.html").read_bytes()
    article = extract_article(html, None)
    gold_body = "\n".join(b["text"] for b in expected["body"])
    body = "\n".join(b.text for b in article.body)
    ours = "\n".join([article.title, article.lead, body]).casefold()
    theirs = trafilatura.extract(html.decode("utf-8"), include_comments=False) or ""
    gold_text = f"{expected['lead']}\n{gold_body}"
    return Row(page=name, family=name.split("-")[0], evidence_lead=article.evidence.get("lead", ""),
               title_exact=article.title == expected["title"],
               lead_f1=token_f1(expected["lead"], article.lead), body_f1=token_f1(gold_body, body),
               text_f1=token_f1(gold_text, f"{article.lead}\n{body}"),
               leaks=sum(s.casefold() in ours for s in expected["boilerplate"]),
               trafilatura_text_f1=token_f1(gold_text, theirs))


def table(rows: list[Row]) -> str:
    head = "| page | lead evidence | title exact | lead F1 | body F1 | leaks | lead+body F1 | trafilatura F1 |"
    lines = [head, "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.page} | {r.evidence_lead} | {'yes' if r.title_exact else 'NO'} | {r.lead_f1:.3f} "
                     f"| {r.body_f1:.3f} | {r.leaks} | {r.text_f1:.3f} | {r.trafilatura_text_f1:.3f} |")
    for family in sorted({r.family for r in rows}):
        fr = [r for r in rows if r.family == family]
        lines.append(f"| **{family}** ({len(fr)} pages) | | {sum(r.title_exact for r in fr)}/{len(fr)} "
                     f"| {mean(r.lead_f1 for r in fr):.3f} | {mean(r.body_f1 for r in fr):.3f} "
                     f"| {sum(r.leaks for r in fr)} | {mean(r.text_f1 for r in fr):.3f} "
                     f"| {mean(r.trafilatura_text_f1 for r in fr):.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.unseen", description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=UNSEEN,
                        help="folder of <page>.html + <page>.expected.json (default: tests/fixtures/unseen; "
                             "tests/fixtures/unseen-holdout is the set no rule was tuned on)")
    parser.add_argument("--json-out", type=Path, help="write the rows as JSON there")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    names = sorted(p.name.removesuffix(".expected.json") for p in args.fixtures.glob("*.expected.json"))
    if not names:
        parser.error(f"--fixtures {args.fixtures}: no *.expected.json there")
    rows = [score(n, args.fixtures) for n in names]
    print(table(rows))
    if args.json_out:
        args.json_out.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
