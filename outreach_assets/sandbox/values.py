"""Attribute values of every catalog field type, drawn from a seeded RNG.

The words include quotes, backslashes, percent signs and non-ASCII text on purpose: the
client must survive JSON escaping and UTF-8, and the renderer's templates must escape `%`.
"""

import random
from typing import Any

from outreach_assets.catalog import Field, FieldType
from outreach_assets.sandbox.isotime import format_ms

WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "Zoë",
    "Łódź",
    "O'Brien",
    'the "quoted" one',
    "50% off",
    "back\\slash",
    "tab\tstop",
    "rocket 🚀",
)

_HTML_PARAGRAPH = (
    "<p>Hi {{first_name}}, following up on {word}: our {word} plan cuts onboarding time by "
    "{n}% for teams like yours. Would a short call next week work? "
    '<a href="https://example.com/track?u={n}&amp;w={word}">Book a slot</a></p>\n'
)
_TEXT_PARAGRAPH = (
    "Hi {{first_name}}, following up on {word}: our {word} plan cuts onboarding time by "
    "{n}% for teams like yours. Would a short call next week work? https://example.com/{n}\n"
)
# Outreach's big bodies (mailings, templates, snippets) are what make 1000-record pages
# exceed a gateway's limits; a few KB each reproduces that.
_BIG_BODIES = {"bodyHtml": (_HTML_PARAGRAPH, 3000), "bodyText": (_TEXT_PARAGRAPH, 2000)}


def word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def field_value(f: Field, rng: random.Random, start_ms: int, end_ms: int) -> Any:
    """A plausible value of the field's catalog type (never null: every field is present)."""
    kind = f.type
    if kind is FieldType.STRING:
        return string_value(f.name, rng)
    if kind is FieldType.INTEGER:
        return rng.randrange(0, 5000)
    if kind is FieldType.NUMBER:
        return round(rng.uniform(0, 1000), 2)  # json writes floats with a point: 12.0
    if kind is FieldType.BOOLEAN:
        return rng.random() < 0.5
    if kind is FieldType.TIMESTAMP:
        return format_ms(rng.randrange(start_ms, end_ms))
    if kind is FieldType.DATE:
        return format_ms(rng.randrange(start_ms, end_ms))[:10]
    if kind is FieldType.STRING_LIST:
        return [word(rng) for _ in range(rng.randrange(0, 4))]
    if kind is FieldType.INT_LIST_LIST:
        return [[rng.randrange(0, 20), rng.randrange(0, 20)] for _ in range(12)]
    if kind is FieldType.JSON:
        return json_value(rng)
    raise ValueError(f"no sandbox value generator for field type {kind!r}")


def json_value(rng: random.Random) -> dict[str, Any]:
    """An object whose keys come and go, as an event's ``payload`` differs by event type;
    the same draws whatever the shape, so the values of every other field stay put."""
    kind, count, label = word(rng), rng.randrange(0, 9), word(rng)
    value: dict[str, Any] = {"kind": kind}
    if count % 3:
        value["count"] = count
    if count % 2:
        value["labels"] = [label]
    return value


def string_value(name: str, rng: random.Random) -> str:
    if name in _BIG_BODIES:
        paragraph, size = _BIG_BODIES[name]
        parts: list[str] = []
        while sum(map(len, parts)) < size:
            parts.append(paragraph.format(word=word(rng), n=rng.randrange(5, 95)))
        return "".join(parts)
    n = rng.randrange(0, 1000)
    lowered = name.lower()
    if "email" in lowered:
        return f"{rng.choice(WORDS[:12])}.{n}@example.com"
    if lowered.endswith("url"):
        return f"https://example.com/{name}/{n}"
    if name.startswith("custom"):
        return f"{rng.choice(WORDS[:12])}{n}"
    return f"{word(rng)} {n}"
