"""The Elasticsearch index layer (docs/elasticsearch.md).

- `connection`: `connect()`, `EsConnectionError`, `READ_ALIAS`, `WRITE_ALIAS`
- `setup`: `ensure_indices()` (template file `templates/news-articles.json`, first version, aliases)
- `document_source`: `to_es_source(doc)` — Document → `_source` (docs/schema.md)
- `bulk`: `index_documents()` → `IndexCounts`; retries, dead letters (`dead_letter`)
- `reindex`: `create_version()`, `check_version()`, `swap_aliases()`, `drop_index()`

Modules are imported directly (`from pipeline.index.bulk import index_documents`) so that
importing one does not load the others.
"""
