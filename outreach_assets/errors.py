"""Every error this project raises on purpose, arranged by what a caller should do about it.

Messages are written for the person running the pipeline: they name the stream, the
partition or the setting, say what to do next, and never carry a token, a secret or a
request header, because they end up in Dagster's event log and in alerting channels.

Whether trying again later can help is a property of the class, not of a flag to inspect
(the shape of singer-sdk's ``FatalAPIError`` / ``RetriableAPIError``,
https://github.com/meltano/sdk/blob/main/singer_sdk/exceptions.py):

* :class:`FatalError`: retrying cannot help (bad settings, refused credentials, a 4xx).
* :class:`RetriableError`: a later attempt may succeed (an outage outlasted the client's
  own retries, the quota window is exhausted).

The stream assets turn the first into a failure and the second into a Dagster retry; the
CLI prints either as one line.
"""


class OutreachError(Exception):
    """Base class, so callers can catch everything this package raises in one clause."""


class FatalError(OutreachError):
    """Asking again, now or later, gives the same answer: someone has to change something."""


class RetriableError(OutreachError):
    """The same request may succeed later, without anyone changing anything."""


class ConfigError(FatalError, ValueError):
    """A setting is missing, malformed or out of range; the message names it and its variable.

    A ``ValueError`` too, so that pydantic reports it as a validation error when a resource
    field is checked as the definitions load.
    """


class AuthError(FatalError):
    """The token endpoint refused to give us an access token, or the API refused it twice."""


class CredentialsRejected(AuthError):
    """The token endpoint refused the credentials themselves (OAuth ``invalid_client``,
    ``invalid_grant`` or ``unauthorized_client``, RFC 6749 section 5.2,
    https://datatracker.ietf.org/doc/html/rfc6749#section-5.2): the same request can only
    get the same answer, so the token store remembers it and no other step asks again."""

    def __init__(self, message: str, error_code: str = "") -> None:
        super().__init__(message, error_code)
        self.error_code = error_code

    def __str__(self) -> str:
        return str(self.args[0])


class APIError(OutreachError):
    """An API request failed for good; raised as one of the two kinds below."""

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


class FatalAPIError(APIError, FatalError):
    """Outreach refused the request itself (a 4xx other than timeout or rate limiting)."""


class UnexpectedResponseError(FatalAPIError):
    """Something answered 200 with a whole body that is no JSON:API page (HTML, other
    JSON), or a page whose ``links.next`` leaves the API host: what answers at that address
    is not Outreach's API, or not as this client knows it, and asking again gets the same."""


class PaginationCycleError(FatalAPIError):
    """The pages went round in a circle: a ``links.next`` already followed in the scan, or a
    page that brought nothing new. Asking again walks the same circle and burns quota, so
    the scan fails at once instead of retrying."""


class RetriableAPIError(APIError, RetriableError):
    """Outreach failed or never answered properly, beyond the client's own retries."""


class RateLimitError(RetriableAPIError):
    """Waiting for the quota window would take longer than ``max_rate_limit_wait_s`` allows."""


class ScanCancelled(Exception):
    """A scan's ``cancel`` event was set: it stopped at a wait, or before its next request.

    Raised so that a stopped scan can never pass for a finished one; the fetching threads of
    ``client.slices.fetch_pages`` drop it, since their consumer is already gone. Not an
    :class:`OutreachError` on purpose: it is a stop the caller asked for, not a failure of
    Outreach, so nothing that retries Outreach failures (the stream assets) may retry it.
    """
