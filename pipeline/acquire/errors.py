"""Why a fetch did not give a usable body: one exception type with a short machine reason.

`reason` is what the counts use ("timeout", "http_500", "robots", "private_address", …);
the message says what happened to which URL.
"""

from __future__ import annotations


class FetchError(Exception):
    """A fetch that failed or was refused. `reason` is a short stable key for counts."""

    def __init__(self, reason: str, message: str, *, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status


class RetryableError(FetchError):
    """Timeouts, connection errors, 429 and 5xx: worth another attempt."""


# Reasons that mean "we decided not to fetch" rather than "the server or network failed".
REFUSAL_REASONS = frozenset({
    "not_allowed_domain", "private_address", "bad_url", "robots", "content_type", "too_large",
    "too_many_redirects", "unsafe_xml", "redirect_off_domain",
})
