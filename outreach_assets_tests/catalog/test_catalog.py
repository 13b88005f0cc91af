"""Catalog invariants other modules rely on, and the Mage schema mistakes it must not repeat."""

import re

import pytest

from outreach_assets.catalog import (
    STREAMS,
    STREAMS_BY_NAME,
    STREAMS_BY_PATH,
    STREAMS_BY_TYPE,
    FieldType,
    Replication,
    Stream,
    all_scopes,
    get_stream,
)

# Every collection Outreach's API serves that a read scope grants (its OpenAPI document,
# https://api.outreach.io/api/v2/schema/openapi.json), by asset name.
EXPECTED_NAMES = sorted(
    [
        "accounts",
        "account_notes",
        "audit_logs",
        "batch_items",
        "batches",
        "call_dispositions",
        "call_purposes",
        "calls",
        "compliance_requests",
        "content_categories",
        "content_category_memberships",
        "content_category_ownerships",
        "duties",
        "email_addresses",
        "events",
        "favorites",
        "kaia_recordings",
        "mail_aliases",
        "mailboxes",
        "mailings",
        "opportunities",
        "opportunity_prospect_roles",
        "opportunity_stages",
        "personas",
        "phone_numbers",
        "products",
        "profiles",
        "prospect_notes",
        "prospects",
        "purchases",
        "recipients",
        "roles",
        "rulesets",
        "sequence_states",
        "sequence_steps",
        "sequence_templates",
        "sequences",
        "snippets",
        "stages",
        "task_dispositions",
        "task_priorities",
        "task_purposes",
        "tasks",
        "teams",
        "templates",
        "users",
        "webhooks",
    ]
)
SNAPSHOTS = {
    "duties",
    "sequence_templates",
    "recipients",
    "webhooks",
    "compliance_requests",
    "batches",
    "batch_items",
}

REPLY_COUNT_STREAMS = ("sequence_states", "sequence_steps", "sequence_templates", "sequences")


def _custom_numbers(stream: Stream) -> list[int]:
    return sorted(int(m[1]) for f in stream.fields if (m := re.fullmatch(r"custom(\d+)", f.name)))


def test_every_collection_in_alphabetical_order() -> None:
    assert [s.name for s in STREAMS] == EXPECTED_NAMES
    assert len(STREAMS) == 47


@pytest.mark.parametrize("attr", ["name", "path", "json_type"])
def test_identifiers_are_unique(attr: str) -> None:
    values = [getattr(s, attr) for s in STREAMS]
    assert len(values) == len(set(values))


def test_lookup_tables_cover_every_stream() -> None:
    assert len(STREAMS_BY_NAME) == len(STREAMS_BY_PATH) == len(STREAMS_BY_TYPE) == 47
    assert STREAMS_BY_TYPE["emailAddress"].path == "emailAddresses"
    assert STREAMS_BY_PATH["sequenceStates"].json_type == "sequenceState"


def test_unknown_stream_error_lists_valid_names() -> None:
    with pytest.raises(KeyError, match="known streams: account_notes, accounts, audit_logs"):
        get_stream("prospect")


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_fields_are_unique_and_sorted(stream: Stream) -> None:
    names = [f.name for f in stream.fields]
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert "id" not in names


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_cursor_matches_replication(stream: Stream) -> None:
    if stream.is_incremental:
        assert stream.cursor is not None
        assert stream.field(stream.cursor).type is FieldType.TIMESTAMP
    else:
        assert stream.replication is Replication.FULL_SNAPSHOT
        assert stream.cursor is None


def test_replication_choices() -> None:
    """updatedAt where Outreach filters and sorts on it, else createdAt, else a full snapshot
    (audit logs have neither, but an immutable event time that does)."""
    snapshots = {s.name for s in STREAMS if not s.is_incremental}
    assert snapshots == SNAPSHOTS
    by_created = {"events", "account_notes", "prospect_notes"}
    cursors = {s.cursor for s in STREAMS if s.is_incremental and s.name not in by_created}
    assert cursors == {"updatedAt", "timestamp"}
    assert get_stream("audit_logs").cursor == "timestamp"
    assert {get_stream(n).cursor for n in by_created} == {"createdAt"}
    events = get_stream("events")
    assert events.cursor == "createdAt"
    assert events.field("eventAt").type is FieldType.TIMESTAMP
    assert get_stream("teams").cursor == "updatedAt"


def test_mage_typos_absent_and_corrected_names_present() -> None:
    all_names = {f.name for s in STREAMS for f in s.fields}
    assert "naturalReplyCount" not in all_names
    assert "negaitveReplyCount" not in all_names
    for name in REPLY_COUNT_STREAMS:
        stream = get_stream(name)
        assert stream.field("neutralReplyCount").type is FieldType.INTEGER
        assert stream.field("negativeReplyCount").type is FieldType.INTEGER


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_custom_fields_are_contiguous_strings(stream: Stream) -> None:
    expected = {
        "accounts": 150,
        "opportunities": 150,
        "prospects": 150,
        "products": 150,
        "purchases": 150,
        "users": 5,
    }
    count = expected.get(stream.name, 0)
    assert _custom_numbers(stream) == list(range(1, count + 1))
    for k in range(1, count + 1):
        assert stream.field(f"custom{k}").type is FieldType.STRING


def test_contact_histogram_is_kept_typed_but_dropped_by_default() -> None:
    prospects = get_stream("prospects")
    assert prospects.field("contactHistogram").type is FieldType.INT_LIST_LIST
    assert prospects.dropped_by_default == ("contactHistogram",)
    others = {s.name: s.dropped_by_default for s in STREAMS if s.dropped_by_default}
    # A webhook's signing secret and a compliance request's personal data are no data to
    # replicate by default.
    assert others == {
        "prospects": ("contactHistogram",),
        "webhooks": ("secret",),
        "compliance_requests": ("pii",),
    }


def test_scopes_include_those_mage_forgot() -> None:
    scopes = all_scopes()
    forgotten = {
        "callDispositions.read",
        "callPurposes.read",
        "contentCategories.read",
        "sequenceStates.read",
        "sequenceSteps.read",
        "sequenceTemplates.read",
    }
    assert forgotten <= set(scopes)
    assert len(scopes) == 47
    assert scopes == sorted(scopes)


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_no_field_clashes_with_a_relationship_column(stream: Stream) -> None:
    columns = [r.column for r in stream.relationships]
    assert len(columns) == len(set(columns))
    assert not {f.name for f in stream.fields} & set(columns)


@pytest.mark.parametrize(
    ("stream", "column"),
    [("prospects", "updaterId"), ("events", "mailingId"), ("mailboxes", "userId")],
)
def test_clashing_attributes_come_from_the_relationship(stream: str, column: str) -> None:
    s = get_stream(stream)
    assert column in {r.column for r in s.relationships}
    with pytest.raises(KeyError):
        s.field(column)


@pytest.mark.parametrize(
    ("stream", "field", "ftype"),
    [
        ("prospects", "homePhones", FieldType.STRING_LIST),
        ("prospects", "score", FieldType.NUMBER),
        ("mailings", "references", FieldType.STRING_LIST),
        ("sequences", "tags", FieldType.STRING_LIST),
        ("content_categories", "allowSequences", FieldType.BOOLEAN),
        ("content_categories", "allowSnippets", FieldType.BOOLEAN),
        ("content_categories", "allowTemplates", FieldType.BOOLEAN),
        ("users", "senderNotificationsExcluded", FieldType.BOOLEAN),
        ("events", "requestRegion", FieldType.STRING),
        ("events", "payload", FieldType.JSON),
        ("users", "duties", FieldType.JSON),
        ("sequence_steps", "date", FieldType.TIMESTAMP),
    ],
)
def test_type_fixes_over_mage(stream: str, field: str, ftype: FieldType) -> None:
    assert get_stream(stream).field(field).type is ftype


@pytest.mark.parametrize(
    ("stream", "relationship", "target"),
    [
        ("calls", "associatedId", "account"),
        ("opportunities", "stage", "opportunityStage"),
        ("opportunities", "opportunityStage", "opportunityStage"),
        ("prospects", "stage", "stage"),
        ("prospects", "defaultPluginMapping", "pluginMapping"),
        ("mailings", "followUpSequence", "sequence"),
        ("users", "smsPhone", "phone"),
    ],
)
def test_relationship_targets(stream: str, relationship: str, target: str) -> None:
    rels = {r.name: r.target for r in get_stream(stream).relationships}
    assert rels[relationship] == target


def test_associated_id_keeps_oa_spelling() -> None:
    columns = {r.column for r in get_stream("calls").relationships}
    assert "associatedIdId" in columns


def test_every_catalog_type_is_reachable_from_a_relationship() -> None:
    """Relationship targets that name catalog types must use their exact JSON:API spelling."""
    targets = {r.target for s in STREAMS for r in s.relationships}
    reachable = targets & set(STREAMS_BY_TYPE)
    expected = {"account", "user", "prospect", "sequenceState", "opportunityStage", "template"}
    assert expected <= reachable


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_page_size_and_description(stream: Stream) -> None:
    expected = 250 if stream.name in ("mailings", "templates") else 1000
    assert stream.max_page_size == expected
    assert stream.description.endswith(".")


@pytest.mark.parametrize(
    ("stream", "columns"),
    [
        (
            "prospects",
            {"opportunityIds", "assignedUserIds", "assignedTeamIds", "opportunityProspectRoleIds"},
        ),
        ("teams", {"userIds"}),
        ("users", {"teamIds", "mailboxIds"}),
        ("mailings", {"recipientIds"}),
        ("sequences", {"sequenceStepIds"}),
        ("templates", {"recipientIds"}),
        ("accounts", {"assignedUserIds", "assignedTeamIds"}),
        ("opportunities", {"assignedUserIds", "assignedTeamIds"}),
        ("roles", {"childRoleIds"}),
    ],
)
def test_to_many_relationships_are_named_in_the_singular(stream: str, columns: set[str]) -> None:
    assert columns <= {r.column for r in get_stream(stream).to_many}


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_relationships_are_declared_once(stream: Stream) -> None:
    names = [r.name for r in (*stream.relationships, *stream.to_many)] + list(stream.links_only)
    assert len(names) == len(set(names)) == len(stream.known_relationships)
    assert all(r.many for r in stream.to_many)
    assert not any(r.many for r in stream.relationships)
    columns = [r.column for r in (*stream.relationships, *stream.to_many)]
    assert not {f.name for f in stream.fields} & set(columns)


def test_foreign_keys_point_at_tables_that_land() -> None:
    """Ids written into a column of one stream name records of another the catalog syncs."""
    for stream, column, target in [
        ("users", "roleId", "roles"),
        ("users", "profileId", "profiles"),
        ("tasks", "taskPriorityId", "task_priorities"),
        ("tasks", "taskPurposeId", "task_purposes"),
        ("tasks", "taskDispositionId", "task_dispositions"),
        ("sequences", "rulesetId", "rulesets"),
        ("calls", "phoneNumberId", "phone_numbers"),
    ]:
        relationship = next(r for r in get_stream(stream).relationships if r.column == column)
        assert STREAMS_BY_TYPE[relationship.target].name == target
