"""Version of the processing rules. Bump it when extraction, cleaning or enrichment changes
output, so that reprocessing rewrites documents (unchanged content_hash + same version =
not rewritten)."""

from __future__ import annotations

PIPELINE_VERSION = "1.1.0"  # 1.1.0: leads recovered, embeds, caption credits, agency lines
