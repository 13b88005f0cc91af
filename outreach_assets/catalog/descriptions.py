"""One line of description for every column any stream's table can have, for the Dagster UI.

The UI shows a description beside each column of each table; this module is the one source of
those texts, so the catalog tables (``crm``, ``activity``, ...) can stay about shapes: names,
types and relationships. :func:`describe` gives a column's text:

* ``id``, ``_extra`` and ``_extracted_at``: fixed texts.
* Attributes: written by hand, never generated. A name that means the same wherever it occurs
  is in :data:`COMMON`; a name that means something specific in a stream, or that only one
  stream has, is in that stream's table in ``descriptions_<area>`` (collected in
  :data:`FIELDS`), which wins over :data:`COMMON`.
* Custom fields (``custom1``..``customN``): generated; their labels, where an organisation set
  them, are added elsewhere at run time.
* Relationship columns (``<name>Id``, ``<singular>Ids``): generated from the relationship and
  its target type, except the few in :data:`RELATIONSHIPS` where that text would mislead
  (polymorphic relationships, names that read badly).
"""

import functools
import re
from collections.abc import Mapping

from outreach_assets.catalog.descriptions_activity import ACTIVITY_FIELDS
from outreach_assets.catalog.descriptions_admin import ADMIN_FIELDS
from outreach_assets.catalog.descriptions_content import CONTENT_FIELDS
from outreach_assets.catalog.descriptions_crm import CRM_FIELDS
from outreach_assets.catalog.descriptions_org import ORG_FIELDS
from outreach_assets.catalog.model import Relationship, Stream, singular

# Columns every table has, whatever the stream (``convert.layout`` names them).
FIXED: Mapping[str, str] = {
    "id": "Outreach's id of the record, unique within the table.",
    "_extra": (
        "JSON of all that had no typed column (unknown attributes and relationships, wrongly "
        "typed values); null if none."
    ),
    "_extracted_at": "When the page that brought this row was extracted from Outreach (UTC).",
}

# Attribute names with one meaning in every stream that has them, unless the stream's own
# table says otherwise.
COMMON: Mapping[str, str] = {
    "createdAt": "When the record was created in Outreach.",
    "updatedAt": "When the record was last updated in Outreach.",
    "name": "Name of the record as shown in Outreach.",
    "description": "Free-text description of the record.",
    "order": "Position of the record in its list's display order.",
    "color": "Colour of the record's label in Outreach's interface.",
    "tags": "Free-form tags users gave the record.",
    "stateChangedAt": "When the record's state last changed.",
    "statusChangedAt": "When the status last changed.",
    "touchedAt": "When the record was last touched by an activity such as an email or a call.",
    "trashedAt": "When the record was moved to the trash (soft-deleted).",
    "sharingTeamId": "Text id of the sharing team that controls who can access the record (beta).",
    "externalSource": "What created the record, e.g. outreach-api.",
    "scimExternalId": "Id in the SCIM provisioning service that created the record.",
    "scimSource": "Name of the SCIM provisioning source that created the record.",
    "firstName": "First name of the person.",
    "lastName": "Last name of the person.",
    "emailHash": "Hash of the email address.",
    "bodyHtml": "Body of the content, as HTML.",
    "bodyText": "Plain-text version of the HTML body.",
    "subject": "Subject line of the email.",
    "shareType": "Who may see and use it: private, read_only or shared.",
    "trackLinks": "Whether clicks on the email's links are tracked.",
    "trackOpens": "Whether opens of the email are tracked.",
    "enabled": "Whether it is currently enabled.",
    "enabledAt": "When it was enabled; empty while disabled.",
    "lastUsedAt": "When it was last used.",
    "message": "Text of the note.",
    "noteType": "Context of the note: note, call, coffee, beer or meeting.",
    "pinned": "Whether the note is pinned.",
    "taskType": "Type of task it applies to, e.g. Meeting in Person.",
    # The delivery and reply counters Outreach keeps on what sequences send (states, steps,
    # sequence templates, sequences, templates).
    "bounceCount": "Number of mailings sent through it that bounced.",
    "clickCount": "Number of mailings sent through it whose links were clicked.",
    "deliverCount": "Number of mailings sent through it that were delivered.",
    "failureCount": "Number of mailings sent through it that failed.",
    "negativeReplyCount": "Number of mailings sent through it that got a negative reply.",
    "neutralReplyCount": "Number of mailings sent through it that got a neutral reply.",
    "openCount": "Number of mailings sent through it that were opened.",
    "optOutCount": "Number of mailings sent through it whose recipient opted out.",
    "positiveReplyCount": "Number of mailings sent through it that got a positive reply.",
    "replyCount": "Number of mailings sent through it that got a reply.",
    "scheduleCount": "Number of mailings sent through it that were scheduled.",
}

# Per-stream attribute texts, by stream name, then attribute name.
FIELDS: Mapping[str, Mapping[str, str]] = {
    **CRM_FIELDS,
    **ACTIVITY_FIELDS,
    **CONTENT_FIELDS,
    **ORG_FIELDS,
    **ADMIN_FIELDS,
}

# Relationship columns whose generated text would mislead, by stream, then relationship name.
RELATIONSHIPS: Mapping[str, Mapping[str, str]] = {
    "calls": {
        "associatedId": (
            "Id of the account or opportunity the call is associated with; the column does not "
            "say which."
        ),
    },
    "content_category_memberships": {
        "content": (
            "Id of the sequence, snippet or template in the category; the column does not say "
            "which."
        ),
    },
    "favorites": {
        "target": "Id of the favorited record; targetType says what kind of record it is.",
    },
    "prospects": {
        "trashedByAccount": (
            "Id of the account recorded as having trashed (soft-deleted) the prospect."
        ),
    },
    "sequence_states": {
        "batchItemCreator": (
            "Id of the batch item (of a bulk action) that created the sequence state, if any."
        ),
    },
    "tasks": {
        "creator": (
            "Id of what created the task: a user, or a sequence step or stage; the column does not "
            "say which."
        ),
        "subject": (
            "Id of the task's subject: a prospect, account or opportunity; the column does not say "
            "which."
        ),
        "sequenceStateSequenceStep": "Id of the current step of the task's sequence state.",
        "sequenceTemplateTemplate": "Id of the template of the task's sequence template.",
        "sequenceSequenceSteps": "Ids of the steps of the task's sequence, in Outreach's order.",
        "sequenceStateSequenceStepOverrides": (
            "Ids of the step overrides of the task's sequence state, in Outreach's order."
        ),
        "sequenceStepOverrideTemplates": (
            "Ids of the templates of those step overrides, in Outreach's order."
        ),
    },
    "teams": {
        "teamSettings": (
            "Id of the team's settings; Outreach marks this relationship as not yet supported."
        ),
    },
    "templates": {
        "statsTarget": "Id of the template that collects this template's statistics instead of it.",
    },
}

_CUSTOM = re.compile(r"custom(\d+)")
# Words of camelCase names that are not written in lower case.
_SPELLING: Mapping[str, str] = {"crm": "CRM", "kaia": "Kaia", "sms": "SMS"}


def describe(stream: Stream, column: str) -> str:
    """The one-line description of ``column`` in ``stream``'s table.

    Dropped-by-default attributes are described too. Raises ``KeyError`` for a column the
    stream's table cannot have.
    """
    if column in FIXED:
        return FIXED[column]
    for rel in (*stream.relationships, *stream.to_many):
        if rel.column == column:  # wins over a clashing attribute, as in ``convert``
            return _relationship(stream, rel)
    if column in _attribute_names(stream):
        return _attribute(stream, column)
    raise KeyError(f"stream {stream.name!r} has no column {column!r}")


@functools.cache
def _attribute_names(stream: Stream) -> frozenset[str]:
    """Asked once per column of every table the code location builds: a set, not a scan."""
    return frozenset(f.name for f in stream.fields)


def _attribute(stream: Stream, name: str) -> str:
    own = FIELDS.get(stream.name, {})
    if name in own:
        return own[name]
    if name in COMMON:
        return COMMON[name]
    if m := _CUSTOM.fullmatch(name):
        return (
            f"Custom field {m[1]} of the {words(stream.json_type)}; its label, where your "
            "organisation set one, is in outreach/custom_fields."
        )
    raise KeyError(f"no description for attribute {name!r} of stream {stream.name!r}")


def _relationship(stream: Stream, rel: Relationship) -> str:
    override = RELATIONSHIPS.get(stream.name, {}).get(rel.name)
    if override is not None:
        return override
    name, target = words(rel.name), words(rel.target)
    if rel.many:
        kind = "" if singular(rel.name) == rel.target else f" ({plural(target)})"
        return f"Ids of the {name}{kind}, in Outreach's order."
    kind = "" if rel.name == rel.target else f" ({article(target)} {target})"
    return f"Id of the {name}{kind}."


def words(name: str) -> str:
    """``defaultPluginMapping`` -> ``default plugin mapping``, ``kaiaCrmRecording`` -> ``Kaia
    CRM recording``."""
    parts = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    return " ".join(_SPELLING.get(p.lower(), p.lower()) for p in parts)


def plural(phrase: str) -> str:
    """``sequence step`` -> ``sequence steps``, ``opportunity`` -> ``opportunities``."""
    if phrase.endswith("y") and phrase[-2:-1] not in tuple("aeiou"):
        return phrase[:-1] + "ies"
    if phrase.endswith(("s", "x", "ch", "sh")):
        return phrase + "es"
    return phrase + "s"


def article(phrase: str) -> str:
    """``an`` before a vowel, ``a`` otherwise; ``user`` starts with a consonant sound."""
    return "an" if phrase[:1].lower() in tuple("aeio") else "a"
