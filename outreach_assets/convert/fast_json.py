"""JSON text of the values ``read_json`` inferred: JSON columns, unknown attributes and the
``data`` of unknown relationships.

The reference converter writes such values with ``jsontext.canonical`` of what
``json.loads`` made of them. ``read_json`` infers an Arrow type instead, and some types do
not remember the text: a float column does not know whether ``2`` or ``2.0`` was written,
and one struct for objects whose keys differ between rows reads ``"key": null`` and a
missing key alike. So each inferred column is either turned back into exactly the
reference's text, or the page is refused.
"""

import re
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.convert.fast_read import Refused
from outreach_assets.jsontext import canonical

# Text canonical() writes between quotes unchanged (ensure_ascii): printable ASCII and DEL,
# except the quote and the backslash.
_PLAIN_TEXT: Final = r"^[ !#-\[\]-\x7f]*$"
_SIMPLE_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
_LOSSLESS_LEAVES: Final = frozenset({pa.string(), pa.int64(), pa.bool_(), pa.null()})


def json_texts(values: pa.Array, name: str, body: bytes) -> pa.Array:
    """Each value as ``canonical`` writes it; null stays null. Plain text, integers and
    booleans are vectorized; the rest goes value by value, once checked that read_json kept
    everything the JSON said."""
    kind = values.type
    if kind == pa.null():
        return pa.nulls(len(values), pa.string())
    if kind in (pa.int64(), pa.bool_()):
        return pc.cast(values, pa.string())
    try:
        values.validate(full=True)  # read_json's inference has built broken arrays
    except pa.ArrowException:
        raise Refused(f"inferred: {name} was read into an invalid array") from None
    if kind == pa.string() and pc.all(pc.match_substring_regex(values, _PLAIN_TEXT)).as_py():
        return pc.binary_join_element_wise('"', values, '"', "")
    optional: set[str] = set()
    _check_lossless(values, name, optional)
    if spelled := sorted(key for key in optional if _may_hold_null(body, key)):
        raise Refused(f"inferred: {name} has objects where {spelled[0]!r} is null or missing")
    # A null object member is a missing key here (and there is none without optional keys).
    texts = [None if v is None else canonical(_without_nulls(v)) for v in values.to_pylist()]
    return pa.array(texts, pa.string())


def _check_lossless(values: pa.Array, name: str, optional: set[str]) -> None:
    """Refuse inferred values whose JSON text cannot be recovered exactly.

    Objects whose keys differ between rows (an event's ``payload`` differs by event type)
    are read as one struct, null where a key was missing; those keys are collected in
    ``optional`` for the caller, who can tell a missing key from a ``null`` only by the
    body's text.
    """
    kind = values.type
    if pa.types.is_struct(kind):
        for f, child in zip(kind, values.flatten(), strict=True):
            if child.null_count != values.null_count:  # missing, or null, in some objects
                optional.add(f.name)
            _check_lossless(child, name, optional)
    elif pa.types.is_list(kind):
        _check_lossless(values.flatten(), name, optional)
    elif pa.types.is_float64(kind):
        if pc.any(pc.equal(pc.floor(values), values)).as_py():  # 2 or 2.0? read_json forgot
            raise Refused(f"inferred: {name} has whole numbers read as floats")
    elif kind not in _LOSSLESS_LEAVES:
        raise Refused(f"inferred: {name} was read as {kind}")


def _may_hold_null(body: bytes, key: str) -> bool:
    """Whether some object in the body may give ``key`` an explicit ``null``.

    read_json makes ``"key": null`` and a missing key the same null. Without the key spelled
    out followed by ``null`` (or spelled with escapes, or a name a regex cannot pin down)
    anywhere in the body, every such null was a missing key.
    """
    if not _SIMPLE_NAME.fullmatch(key):
        return True
    spelled = re.compile(b'"' + re.escape(key.encode()) + rb'"\s*:\s*null')
    escaped = re.compile(
        rb"\\u00(" + b"|".join(f"{ord(c):02x}".encode() for c in set(key)) + b")",
        re.IGNORECASE,
    )
    return bool(spelled.search(body) or escaped.search(body))


def _without_nulls(value: Any) -> Any:
    """``value`` with the null members of its objects dropped (they were missing keys)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
