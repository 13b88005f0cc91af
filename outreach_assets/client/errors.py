"""Exceptions raised by the Outreach client.

Every message is written for the person running the pipeline: it names the stream, the URL
path and what to do next, and never carries a token, a secret or a request header, because
these messages end up in Dagster's event log and in alerting channels.
"""


class OutreachError(Exception):
    """Base class, so callers can catch everything this package raises in one clause."""


class OutreachConfigError(OutreachError, ValueError):
    """A setting is missing or out of range.

    It is a ``ValueError`` so that pydantic turns it into a validation error when a resource
    field is checked at definition time.
    """


class OutreachAuthError(OutreachError):
    """The token endpoint refused to give us an access token, or the API refused it twice."""


class OutreachAPIError(OutreachError):
    """An API request failed for good (a non-retryable status, or retries exhausted)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str | None = None,
        stream: str | None = None,
        url_path: str | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.stream = stream
        self.url_path = url_path
        self.attempts = attempts

    @property
    def is_permanent(self) -> bool:
        """Asking again later cannot help: a 4xx other than timeout and rate limiting."""
        return (
            self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)
        )


class OutreachRateLimitError(OutreachAPIError):
    """Waiting for the quota window took longer than ``max_rate_limit_wait_s`` allows."""


class ScanCancelled(Exception):
    """The scan's ``cancel`` event was set: it stopped at a wait, or before its next request.

    Raised so that a stopped scan can never pass for a finished one; the fetching threads of
    ``slices.fetch_pages`` drop it, since their consumer is already gone. Not an
    ``OutreachError`` on purpose: it is a stop the caller asked for, not a failure of
    Outreach, so nothing that retries Outreach failures (the stream assets) may retry it.
    """
