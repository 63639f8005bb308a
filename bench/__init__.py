"""Benchmarks: `python -m bench` (reprocessing path vs the NER-only limit, issue 7) and
bench/extraction_eval.py (extraction quality, issue 2)."""
