"""What the reference converter accepts as a value of each catalog type, in two speeds.

:data:`FAST` converts a whole column (or all columns of a type, flattened) with one
vectorized pyarrow call, and either converts every value exactly or raises; it is the
normal path. :data:`CHECKS` decides one value at a time, for the columns where the fast
conversion refused something; it returns the converted value or :data:`BAD`. Both follow
the rules in ``convert.reference``: no silent coercion, nothing lost.

The fast conversions type-check integers, numbers and lists with one ``set(map(type, ...))``
pass first, because pyarrow itself coerces them: it truncates 3.7 into int64, turns True
into 1.0 and reads the string "ab" as the list ["a", "b"]. Strings and booleans need no
check (pyarrow refuses 5 and 1); timestamps and dates are parsed by one Arrow cast.
"""

import re
from collections.abc import Callable, Mapping
from datetime import date, time
from types import MappingProxyType
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.catalog import FieldType
from outreach_assets.convert.layout import ARROW_TYPES, UTC_US
from outreach_assets.jsontext import canonical
from outreach_assets.timestamps import parse_timestamp

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
# What pyarrow raises when values do not fit a requested type.
ARROW_ERRORS: Final = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_NONE_TYPE: Final[type] = type(None)

INTS: Final[frozenset[type]] = frozenset({int, _NONE_TYPE})
_NUMBERS: Final[frozenset[type]] = frozenset({int, float, _NONE_TYPE})
_LISTS: Final[frozenset[type]] = frozenset({list, _NONE_TYPE})
# What pa.array infers for int-only nested lists, including empty or all-null ones.
_INT_LIST_LIST_INFERRED: Final = frozenset(
    {
        pa.null(),
        pa.list_(pa.null()),
        pa.list_(pa.list_(pa.null())),
        pa.list_(pa.list_(pa.int64())),
    }
)


class Rejected(Exception):
    """A fast conversion refused its values; a narrower or per-value path decides."""


class _Bad:
    """Marker returned by per-value checks for a value that does not fit its column."""


BAD: Final = _Bad()


def _is_int64(value: Any) -> bool:
    """An int (not a bool) that int64 holds: anything else would overflow or be coerced."""
    return type(value) is int and _INT64_MIN <= value <= _INT64_MAX


def as_id(value: Any) -> int | None:
    """A JSON:API id as int64: an int, or a decimal string (ids are strings in the spec)."""
    if type(value) is str and value.isascii() and value.isdigit():
        value = int(value)
    return value if _is_int64(value) else None


# --- whole columns: every value converted exactly, or an exception -------------------------


def _only(values: list[Any], allowed: frozenset[type]) -> list[Any]:
    """Reject the column unless every value has an allowed Python type (one C-level pass)."""
    if not set(map(type, values)) <= allowed:
        raise Rejected
    return values


def _fast_int_list_list(values: list[Any]) -> pa.Array:
    # Inference, not an explicit type: pa.array(..., type=int64) would truncate 3.7 to 3.
    inferred = pa.array(_only(values, _LISTS))
    if inferred.type not in _INT_LIST_LIST_INFERRED:
        raise Rejected
    return inferred.cast(ARROW_TYPES[FieldType.INT_LIST_LIST])


# JSON has no fast conversion: its per-value check never rejects, so there is nothing to win.
FAST: Final[Mapping[FieldType, Callable[[list[Any]], pa.Array]]] = MappingProxyType(
    {
        FieldType.STRING: lambda v: pa.array(v, type=pa.string()),
        FieldType.INTEGER: lambda v: pa.array(_only(v, INTS), type=pa.int64()),
        FieldType.NUMBER: lambda v: pa.array(_only(v, _NUMBERS), type=pa.float64()),
        FieldType.BOOLEAN: lambda v: pa.array(v, type=pa.bool_()),
        FieldType.TIMESTAMP: lambda v: pc.cast(pa.array(v, type=pa.string()), UTC_US),
        FieldType.DATE: lambda v: pc.cast(pa.array(v, type=pa.string()), pa.date32()),
        FieldType.STRING_LIST: lambda v: pa.array(_only(v, _LISTS), type=pa.list_(pa.string())),
        FieldType.INT_LIST_LIST: _fast_int_list_list,
    }
)


# --- one value: the converted value, or BAD; never called with None ------------------------


def _check_string(value: Any) -> Any:
    return value if type(value) is str else BAD


def _check_integer(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        value = int(value)
    return value if _is_int64(value) else BAD


def _check_number(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return BAD
    return BAD


def _check_boolean(value: Any) -> Any:
    return value if type(value) is bool else BAD


def _check_timestamp(value: Any) -> Any:
    parsed = parse_timestamp(value)
    return BAD if parsed is None else parsed


def _check_date(value: Any) -> Any:
    if type(value) is str and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return BAD
    parsed = parse_timestamp(value)
    if parsed is not None and parsed.time() == time():
        return parsed.date()
    return BAD


def _check_string_list(value: Any) -> Any:
    if type(value) is list and all(v is None or type(v) is str for v in value):
        return value
    return BAD


def _check_int_list_list(value: Any) -> Any:
    if type(value) is not list:
        return BAD
    out: list[list[int | None] | None] = []
    for inner in value:
        if inner is None:
            out.append(None)
            continue
        if type(inner) is not list:
            return BAD
        ints = [None if v is None else _check_integer(v) for v in inner]
        if any(v is BAD for v in ints):
            return BAD
        out.append(ints)
    return out


CHECKS: Final[Mapping[FieldType, Callable[[Any], Any]]] = MappingProxyType(
    {
        FieldType.STRING: _check_string,
        FieldType.INTEGER: _check_integer,
        FieldType.NUMBER: _check_number,
        FieldType.BOOLEAN: _check_boolean,
        FieldType.TIMESTAMP: _check_timestamp,
        FieldType.DATE: _check_date,
        FieldType.STRING_LIST: _check_string_list,
        FieldType.INT_LIST_LIST: _check_int_list_list,
        FieldType.JSON: canonical,
    }
)
