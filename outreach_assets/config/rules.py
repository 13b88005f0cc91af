"""The rules settings are checked against, each with the words that describe it."""

import math
import re
from collections.abc import Collection
from urllib.parse import urlsplit

from outreach_assets.config.declare import Rule


def int_in(low: int, high: int, allowed: str | None = None) -> Rule:
    """An ``int`` (not a ``bool``) from ``low`` to ``high``."""

    def check(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return Rule(check, allowed or f"an integer from {low} to {high}")


def int_at_least(low: int, unit: str = "") -> Rule:
    def check(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= low

    return Rule(check, f"a whole number{unit}, at least {low}")


def number_in(low: float, high: float, allowed: str, *, above_low: bool = False) -> Rule:
    """A finite int or float in ``[low, high]`` (or ``(low, high]`` with ``above_low``)."""

    def check(value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        number = float(value)
        if not math.isfinite(number) or number > high:
            return False
        return number > low if above_low else number >= low

    return Rule(check, allowed)


def number_below(low: float, high: float, allowed: str) -> Rule:
    """A finite number in ``[low, high)``."""

    def check(value: object) -> bool:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and low <= float(value) < high  # type: ignore[arg-type]

    return Rule(check, allowed)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_clean_text(value: object) -> bool:
    """Non-empty and no surrounding whitespace: a pasted token with a trailing newline is the
    usual cause of a baffling ``invalid_grant``."""
    return isinstance(value, str) and _is_text(value) and value == value.strip()


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str) or not _is_clean_text(value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_base_url(value: object) -> bool:
    if not isinstance(value, str) or not _is_http_url(value):
        return False
    parts = urlsplit(value)
    return not parts.query and not parts.fragment


CLEAN_TEXT = Rule(_is_clean_text, "a non-empty string without surrounding whitespace")
TEXT = Rule(_is_text, "a non-empty string")
HEADER_TEXT = Rule(
    lambda v: isinstance(v, str) and _is_text(v) and all(c >= " " for c in v),
    "a non-empty string without control characters",
)
HTTP_URL = Rule(_is_http_url, "an absolute http(s) URL registered with your Outreach app")
OPTIONAL_PATH = Rule(lambda v: v is None or _is_clean_text(v), "unset or a file path")
# Any URL passes here: the store that opens it checks the scheme, and says what is wrong
# with the password masked (a rejected value is quoted in the message).
TOKEN_STORE = Rule(
    lambda v: v is None or _is_clean_text(v) or (isinstance(v, str) and "://" in v),
    "unset, a file path, or a postgresql://user@host:port/db URL",
)


ORG_NAME = Rule(
    lambda v: isinstance(v, str) and re.fullmatch(r"[a-z0-9_]*", v) is not None,
    "empty, or an org name of lowercase letters, digits and underscores",
)


def base_url(example: str) -> Rule:
    return Rule(_is_base_url, f"an absolute http(s) URL without query or fragment, like {example}")


def one_of(choices: Collection[str]) -> Rule:
    return Rule(lambda v: v in choices, f"one of {', '.join(choices)}")
