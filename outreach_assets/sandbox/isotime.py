"""Millisecond timestamps: Outreach's ISO text form and the sandbox's packed index keys.

Records keep their timestamps as integer milliseconds (compact arrays); the ISO text is only
made while a page is rendered, so formatting is on the hot path and caches the date part
instead of going through `datetime` as `outreach_assets.timestamps` does. Parsing is rare
(filters, cursors, the config) and uses the project's parser.
"""

from datetime import datetime

from outreach_assets.timestamps import from_ms, parse_timestamp, to_micros

_DAY_MS = 86_400_000

# Index keys pack (cursor ms, id) into one signed 64-bit int so a sorted `array('q')` can be
# bisected: ms relative to 2020 in the high bits, the id in the low ID_BITS bits.
ID_BITS = 22
MAX_ID = (1 << ID_BITS) - 1
_KEY_BASE_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
_KEY_SPAN_MS = 1 << (63 - ID_BITS - 1)

_day_cache: dict[int, str] = {}
# Second of day -> "HH:MM:SS" and millisecond -> ".mmmZ" (about 5 MB, built once).
_CLOCK = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_MILLIS = [f".{m:03d}Z" for m in range(1000)]


def format_ms(ms: int) -> str:
    """`1704067200000` -> `2024-01-01T00:00:00.000Z`, the form Outreach sends.

    Table lookups instead of arithmetic formatting: this runs twice per rendered record.
    """
    days, rem = divmod(ms, _DAY_MS)
    day = _day_cache.get(days)
    if day is None:
        day = _day_text(days)
    return day + _CLOCK[rem // 1000] + _MILLIS[rem % 1000]


def _day_text(days: int) -> str:
    if len(_day_cache) > 100_000:
        _day_cache.clear()
    text = from_ms(days * _DAY_MS).date().isoformat() + "T"
    _day_cache[days] = text
    return text


def parse_ms(text: str, *, round_up: bool = False) -> int:
    """Parse a date-only or full ISO value (UTC unless an offset is given) to milliseconds.

    Sub-millisecond input is rounded down, or up with ``round_up`` so an inclusive lower
    bound never admits a record that lies before it. Raises ValueError for other text.
    """
    value = text.strip()
    moment = parse_timestamp(value)
    if moment is None:
        # Not ISO (fromisoformat raises ValueError), or an aware moment whose UTC form lies
        # outside datetime's range, such as year 1 at +01:00: as a filter bound that still
        # means "before everything", so it is kept rather than refused.
        moment = datetime.fromisoformat(value)
    micros = to_micros(moment)
    return -(-micros // 1000) if round_up else micros // 1000


def within_key_range(ms: int) -> bool:
    return -_KEY_SPAN_MS < ms - _KEY_BASE_MS < _KEY_SPAN_MS


def pack_key(ms: int, record_id: int) -> int:
    return ((ms - _KEY_BASE_MS) << ID_BITS) | record_id
