"""Time in the forms this project meets it: aware UTC datetimes, epoch integers, ISO text.

Outreach sends and filters on ISO-8601 UTC with milliseconds (``2024-02-16T19:30:18.000Z``);
Arrow stores cursors as ``timestamp[us, UTC]``; the slicer and the sandbox count in epoch
milliseconds. Every conversion between them lives here, so a rounding rule is written once.
No dependency beyond the standard library: the sandbox uses this module too.
"""

import email.utils
from datetime import UTC, datetime, timedelta
from typing import Any, Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS: Final = timedelta(milliseconds=1)  # the resolution of Outreach's timestamps
_ONE_US: Final = timedelta(microseconds=1)


def aware(moment: datetime) -> datetime:
    """``moment`` in UTC; one without a zone is taken as UTC (Outreach's documented zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch, the unit of the cursor columns (``timestamp[us, UTC]``)."""
    return (moment - EPOCH) // _ONE_US


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded down (the API's precision)."""
    return (moment - EPOCH) // ONE_MS


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * ONE_MS


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 date-time as the converters read a TIMESTAMP value (UTC), else None.

    Anything ``datetime.fromisoformat`` reads is accepted (``Z``, other offsets, no fraction,
    a bare date as midnight); a value without an offset is UTC. Never raises.
    """
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 falls before year 1
        return None


def lacks_zone(value: Any) -> bool:
    """Whether ``value`` is ISO date-time text that :func:`parse_timestamp` reads, but
    without an offset, so that it was taken as UTC: Outreach sends one with every time of
    day, so such a value is counted where it is met rather than trusted silently. A bare
    date (a day, as some timestamp fields carry) is not counted."""
    if type(value) is not str or len(value) <= len("2024-01-01"):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


def parse_http_date(text: str) -> datetime | None:
    """An HTTP date (RFC 9110, as in ``Retry-After``) or an ISO time, in UTC; else None."""
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return parse_timestamp(text)
    return aware(parsed)


def format_cursor_time(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, the API's own format.

    Naive datetimes are refused: guessing their zone silently shifts a window by hours.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} has no time zone; pass an aware one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def format_epoch(epoch_s: float, *, zone: str = "Z") -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SS`` plus ``zone`` (empty for Outreach's 429 text)."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S") + zone


def utc_now_text() -> str:
    """Now, to the second, in the ``...Z`` form the sandbox's ``--start``/``--end`` take."""
    return format_epoch(datetime.now(UTC).timestamp())
