"""The stream catalog: the one place where facts about Outreach streams live.

Every other part (client, converters, sandbox, assets, CLI scopes) reads stream facts from
here, so a stream's path, cursor, fields and relationships are never repeated elsewhere.
The entries are tables by area (``crm``, ``activity``, ``content``, ``org``, ``admin``);
their types are in ``model``.

Sources: the fields are those of Mage's Outreach source
(https://github.com/mage-ai/mage-ai/tree/master/mage_integrations/mage_integrations/sources/outreach)
plus what singer-io's tap-outreach (https://github.com/singer-io/tap-outreach) and
Outreach's API reference (https://developers.outreach.io/api/reference/) add, typed after
the API reference where Mage's schemas are wrong.

Rules every table follows:

* Attribute/relationship clashes: some resources carry an attribute named like a
  relationship column (prospects ``updaterId`` vs the ``updater`` relationship, events
  ``mailingId`` vs ``mailing``, mailboxes ``userId`` vs ``user``). They are not listed as
  fields: the relationship column wins (``convert.reference`` documents the rule), as in
  singer-io since v0.8.0. Mage's foreign-key columns (``creatorId``, ...) likewise come
  from relationships.
* Polymorphic relationships get the first or most common target type the API reference
  lists: calls.associatedId (account|opportunity), tasks.subject
  (account|opportunity|prospect), tasks.creator (sequenceStep|stage|user).
* mailboxes: the API reference also documents the secret attributes ``password``,
  ``smtpPassword`` and ``sendgridApiKey``; they are deliberately not catalog fields.
"""

from outreach_assets.catalog.activity import ACTIVITY_STREAMS
from outreach_assets.catalog.admin import ADMIN_STREAMS
from outreach_assets.catalog.content import CONTENT_STREAMS
from outreach_assets.catalog.crm import CRM_STREAMS
from outreach_assets.catalog.model import (
    Field,
    FieldType,
    Relationship,
    Replication,
    Stream,
    fields,
    links,
    many,
    rels,
)
from outreach_assets.catalog.org import ORG_STREAMS

STREAMS: tuple[Stream, ...] = tuple(
    sorted(
        (*CRM_STREAMS, *ACTIVITY_STREAMS, *CONTENT_STREAMS, *ORG_STREAMS, *ADMIN_STREAMS),
        key=lambda s: s.name,
    )
)
STREAMS_BY_NAME: dict[str, Stream] = {s.name: s for s in STREAMS}
STREAMS_BY_PATH: dict[str, Stream] = {s.path: s for s in STREAMS}
STREAMS_BY_TYPE: dict[str, Stream] = {s.json_type: s for s in STREAMS}


def get_stream(name: str) -> Stream:
    """Look a stream up by asset name, with an error that lists the valid names."""
    try:
        return STREAMS_BY_NAME[name]
    except KeyError:
        valid = ", ".join(sorted(STREAMS_BY_NAME))
        raise KeyError(f"unknown Outreach stream {name!r}; known streams: {valid}") from None


def all_scopes() -> list[str]:
    """Every OAuth scope the catalog's streams need, for the authorize URL."""
    return sorted({s.scope for s in STREAMS})


__all__ = [
    "STREAMS",
    "STREAMS_BY_NAME",
    "STREAMS_BY_PATH",
    "STREAMS_BY_TYPE",
    "Field",
    "FieldType",
    "Relationship",
    "Replication",
    "Stream",
    "all_scopes",
    "fields",
    "get_stream",
    "links",
    "many",
    "rels",
]
