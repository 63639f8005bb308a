"""Elasticsearch-shaped errors raised by the double and rendered as ES error bodies."""

from __future__ import annotations

from typing import Any


class EsError(Exception):
    """An error Elasticsearch would return: HTTP status, `type`, `reason` and extra keys."""

    def __init__(
        self,
        status: int,
        type_: str,
        reason: str,
        *,
        caused_by: EsError | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{type_}: {reason}")
        self.status = status
        self.type = type_
        self.reason = reason
        self.caused_by = caused_by
        self.extra = extra

    def cause(self) -> dict[str, Any]:
        """The error object (`{"type", "reason", ..., "caused_by"}`) as ES nests it."""
        out: dict[str, Any] = {"type": self.type, "reason": self.reason}
        out.update({k: v for k, v in self.extra.items() if not k.startswith("_")})
        if self.caused_by is not None:
            out["caused_by"] = self.caused_by.cause()
        return out

    def root_causes(self) -> list[dict[str, Any]]:
        roots = self.extra.get("_root_cause")
        if roots is not None:
            return list(roots)
        out: dict[str, Any] = {"type": self.type, "reason": self.reason}
        out.update({k: v for k, v in self.extra.items() if not k.startswith("_")})
        return [out]

    def body(self) -> dict[str, Any]:
        """The full response body: `{"error": {"root_cause": [...], ...}, "status": N}`."""
        error = {"root_cause": self.root_causes()}
        error.update(self.cause())
        return {"error": error, "status": self.status}


def index_not_found(name: str) -> EsError:
    return EsError(
        404,
        "index_not_found_exception",
        f"no such index [{name}]",
        **{"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name},
    )


def illegal_argument(reason: str, status: int = 400, **extra: Any) -> EsError:
    return EsError(status, "illegal_argument_exception", reason, **extra)


def parsing_error(reason: str, status: int = 400) -> EsError:
    return EsError(status, "parsing_exception", reason, line=1, col=1)


def x_content_parse(reason: str) -> EsError:
    return EsError(400, "x_content_parse_exception", reason)


def not_implemented(what: str) -> EsError:
    """A valid Elasticsearch feature the double does not implement (never silently ignored)."""
    return EsError(400, "unsupported_operation_exception", f"elastic double: {what} is not implemented")


def shard_failure(index: str, uuid: str, cause: EsError) -> EsError:
    """A query-phase failure on every shard, as ES wraps it (search_phase_execution_exception)."""
    reason_obj = cause.cause()
    reason_obj.setdefault("index_uuid", uuid)
    reason_obj.setdefault("index", index)
    root = dict(reason_obj)
    root.pop("caused_by", None)
    return EsError(
        cause.status if cause.status < 500 else 500,
        "search_phase_execution_exception",
        "all shards failed",
        phase="query",
        grouped=True,
        failed_shards=[{"shard": 0, "index": index, "node": "es-double-node", "reason": reason_obj}],
        caused_by=cause,
        _root_cause=[root],
    )
