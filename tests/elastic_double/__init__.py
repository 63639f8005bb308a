"""An Elasticsearch test double: a real HTTP server on 127.0.0.1 speaking Elasticsearch's REST API
(9.x semantics) for the requests the project sends. See docs/es-double.md.

    server = EsDoubleServer().start()   # free port; server.url
    server.faults.reject_bulk(nth=1, times=2)
    server.stop()
"""

from __future__ import annotations

from .errors import EsError
from .faults import Faults, RequestRecord
from .server import EsDoubleServer

__all__ = ["EsDoubleServer", "EsError", "Faults", "RequestRecord"]
