"""What `GET /api/v2/types` answers: the validations an admin defined on custom fields.

Outreach's API reference (https://developers.outreach.io/api/reference/overview/) documents
the endpoint: one entry per standard object that has ``customN`` fields, whose
``meta.validations`` maps a field to its validation type, ``required``, ``label`` and
``definition`` (a currency code, a pick list's options, or null). Only fields an admin set
up appear, so here about a tenth of each object's custom fields do, drawn from the seed;
the rest are absent, as unconfigured fields are.
"""

import random
import re
from collections.abc import Sequence
from typing import Any

from outreach_assets.catalog import Stream

# The objects the API reference lists as having custom fields; a catalog stream of one of
# these types with `customN` fields gets an entry.
DOCUMENTED_OBJECTS = frozenset(
    {
        "account",
        "opportunity",
        "opportunityLineItem",
        "opportunityProspectRole",
        "product",
        "prospect",
        "purchase",
    }
)
VALIDATION_TYPES = (
    "boolean",
    "currency",
    "date",
    "date_time",
    "inclusion",
    "multi_inclusion",
    "numerical",
    "percentage",
    "phone_number",
    "string",
    "url",
)
_CUSTOM = re.compile(r"^custom(\d+)$")
_CURRENCIES = ("USD", "EUR", "GBP")
# (label, validation type, pick-list options): what admins typically add.
_LABELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Lead Source", "inclusion", ("Web", "Referral", "Event", "Outbound", "Partner")),
    ("Region", "inclusion", ("AMER", "EMEA", "APAC", "LATAM")),
    ("ARR", "currency", ()),
    ("Segment", "inclusion", ("SMB", "Mid-Market", "Enterprise")),
    ("Renewal Date", "date", ()),
    ("Contract Signed At", "date_time", ()),
    ("Budget Approved", "boolean", ()),
    ("Seats", "numerical", ()),
    ("Discount", "percentage", ()),
    ("Support Phone", "phone_number", ()),
    ("Customer Portal", "url", ()),
    ("Champion", "string", ()),
    ("Use Cases", "multi_inclusion", ("Prospecting", "Forecasting", "Coaching", "Renewals")),
    ("Contract Value", "currency", ()),
    ("Churn Risk", "inclusion", ("Low", "Medium", "High")),
    ("Employees Band", "inclusion", ("1-50", "51-200", "201-1000", "1000+")),
    ("Next Review", "date", ()),
    ("Win Probability", "percentage", ()),
    ("Competitors", "multi_inclusion", ("Acme", "Globex", "Initech", "Umbrella")),
    ("Partner Referral", "boolean", ()),
    ("Billing Contact", "string", ()),
    ("Health Score", "numerical", ()),
    ("Procurement Portal", "url", ()),
    ("Last QBR", "date_time", ()),
)

CustomFields = dict[str, dict[str, dict[str, Any]]]


def custom_fields(streams: Sequence[Stream], seed: int) -> CustomFields:
    """Object type -> custom field -> its validation, for the documented objects."""
    out: CustomFields = {}
    for stream in streams:
        numbers = sorted(
            int(m.group(1)) for f in stream.fields if (m := _CUSTOM.match(f.name)) is not None
        )
        if stream.json_type in DOCUMENTED_OBJECTS and numbers:
            rng = random.Random(f"{seed}:{stream.json_type}:custom fields")
            out[stream.json_type] = _validations(rng, numbers)
    return out


def _validations(rng: random.Random, numbers: list[int]) -> dict[str, dict[str, Any]]:
    chosen = sorted(rng.sample(numbers, max(1, round(len(numbers) / 10))))
    labels = rng.sample(_LABELS, min(len(chosen), len(_LABELS)))
    out: dict[str, dict[str, Any]] = {}
    for k, number in enumerate(chosen):
        label, kind, options = labels[k % len(labels)]
        if k >= len(labels):  # more configured fields than distinct labels: number them
            label = f"{label} {k // len(labels) + 1}"
        out[f"custom{number}"] = {
            "type": kind,
            "required": rng.random() < 0.2,
            "label": label,
            "definition": _definition(rng, kind, options),
        }
    return out


def _definition(rng: random.Random, kind: str, options: tuple[str, ...]) -> Any:
    if kind == "currency":
        return rng.choice(_CURRENCIES)
    if kind in ("inclusion", "multi_inclusion"):
        return list(options)
    return None


def types_body(fields: CustomFields) -> dict[str, Any]:
    """The endpoint's JSON document."""
    return {
        "data": [
            {"type": object_type, "meta": {"validations": validations}}
            for object_type, validations in fields.items()
        ]
    }
