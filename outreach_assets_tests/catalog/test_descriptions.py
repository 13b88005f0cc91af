"""Every column of every stream's table has a short, hand-checked description for the UI."""

import re
from collections import defaultdict

import pytest

from outreach_assets.catalog import STREAMS, STREAMS_BY_NAME, Stream, get_stream
from outreach_assets.catalog.descriptions import (
    COMMON,
    FIELDS,
    FIXED,
    RELATIONSHIPS,
    article,
    describe,
    plural,
    words,
)
from outreach_assets.catalog.descriptions_activity import ACTIVITY_FIELDS
from outreach_assets.catalog.descriptions_admin import ADMIN_FIELDS
from outreach_assets.catalog.descriptions_content import CONTENT_FIELDS
from outreach_assets.catalog.descriptions_crm import CRM_FIELDS
from outreach_assets.catalog.descriptions_org import ORG_FIELDS
from outreach_assets.convert import arrow_schema

MAX_LENGTH = 120
CUSTOM = re.compile(r"custom\d+")
AREAS = (CRM_FIELDS, ACTIVITY_FIELDS, CONTENT_FIELDS, ORG_FIELDS, ADMIN_FIELDS)


def all_columns(stream: Stream) -> list[str]:
    """The columns of the stream's table with every dropped-by-default attribute kept.

    The to-many columns come from the catalog as well, so they are covered whether or not the
    converter's schema has them yet.
    """
    names = list(arrow_schema(stream, keep=frozenset(stream.dropped_by_default)).names)
    return names + [r.column for r in stream.to_many if r.column not in names]


def written_attributes(stream: Stream) -> list[str]:
    """The attributes whose description must be written by hand (all but custom fields)."""
    return [f.name for f in stream.fields if not CUSTOM.fullmatch(f.name)]


def check_line(text: str, where: str) -> None:
    assert text, f"{where}: empty description"
    assert "\n" not in text and "\r" not in text, f"{where}: more than one line"
    assert text == text.strip(), f"{where}: leading or trailing whitespace"
    assert len(text) <= MAX_LENGTH, f"{where}: {len(text)} characters: {text!r}"
    assert text.endswith("."), f"{where}: not a sentence: {text!r}"
    assert "  " not in text, f"{where}: double space: {text!r}"


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_every_column_has_a_one_line_description(stream: Stream) -> None:
    columns = all_columns(stream)
    assert set(stream.dropped_by_default) <= set(columns)
    assert {r.column for r in (*stream.relationships, *stream.to_many)} <= set(columns)
    for column in columns:
        check_line(describe(stream, column), f"{stream.name}.{column}")


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_every_attribute_is_written_by_hand(stream: Stream) -> None:
    own = FIELDS.get(stream.name, {})
    missing = [n for n in written_attributes(stream) if n not in own and n not in COMMON]
    assert not missing, f"{stream.name}: no written description for {missing}"


def test_stream_tables_name_only_real_streams_and_fields() -> None:
    for name, texts in FIELDS.items():
        assert name in STREAMS_BY_NAME, f"descriptions for unknown stream {name!r}"
        unknown = set(texts) - set(written_attributes(STREAMS_BY_NAME[name]))
        assert not unknown, f"{name}: descriptions for fields it does not have: {sorted(unknown)}"


def test_each_stream_table_is_in_one_area_only() -> None:
    assert sum(len(area) for area in AREAS) == len(FIELDS)


def test_every_common_entry_is_used() -> None:
    for name in COMMON:
        users = [
            s.name
            for s in STREAMS
            if name in written_attributes(s) and name not in FIELDS.get(s.name, {})
        ]
        assert users, f"COMMON[{name!r}] is used by no stream (a typo, or overridden everywhere)"


def test_stream_entries_do_not_repeat_shared_texts() -> None:
    by_name: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for stream_name, texts in FIELDS.items():
        for name, text in texts.items():
            assert text != COMMON.get(name), f"{stream_name}.{name} repeats COMMON"
            by_name[name][text].append(stream_name)
    repeated = {n: s for n, texts in by_name.items() for s in texts.values() if len(s) > 1}
    assert not repeated, f"same text in several streams, belongs in COMMON: {repeated}"


def test_every_written_text_is_one_short_line() -> None:
    tables = {"FIXED": FIXED, "COMMON": COMMON}
    tables |= {f"FIELDS[{s}]": t for s, t in FIELDS.items()}
    tables |= {f"RELATIONSHIPS[{s}]": t for s, t in RELATIONSHIPS.items()}
    for table, texts in tables.items():
        for name, text in texts.items():
            check_line(text, f"{table}[{name!r}]")


def test_relationship_overrides_name_real_relationships() -> None:
    for name, texts in RELATIONSHIPS.items():
        stream = get_stream(name)
        known = {r.name for r in (*stream.relationships, *stream.to_many)}
        assert set(texts) <= known, f"{name}: overrides for {sorted(set(texts) - known)}"


def test_fixed_columns() -> None:
    stream = get_stream("prospects")
    assert describe(stream, "id") == FIXED["id"]
    assert "JSON" in describe(stream, "_extra")
    assert "extracted" in describe(stream, "_extracted_at")


def test_per_stream_text_wins_over_common() -> None:
    assert describe(get_stream("prospects"), "name") == "The prospect's full name."
    assert describe(get_stream("teams"), "name") == COMMON["name"]
    assert describe(get_stream("mailings"), "state") != describe(get_stream("tasks"), "state")
    assert describe(get_stream("sequences"), "bounceCount") == COMMON["bounceCount"]


def test_dropped_by_default_attributes_are_described() -> None:
    for stream_name, field in [
        ("prospects", "contactHistogram"),
        ("compliance_requests", "pii"),
        ("webhooks", "secret"),
    ]:
        stream = get_stream(stream_name)
        assert field in stream.dropped_by_default
        assert field not in arrow_schema(stream).names
        assert "dropped unless kept" in describe(stream, field)


def test_custom_fields_are_generated() -> None:
    assert describe(get_stream("prospects"), "custom7") == (
        "Custom field 7 of the prospect; its label, where your organisation set one, is in "
        "outreach/custom_fields."
    )
    assert describe(get_stream("opportunities"), "custom150").startswith(
        "Custom field 150 of the opportunity;"
    )
    assert describe(get_stream("users"), "custom5").startswith("Custom field 5 of the user;")


def test_relationship_columns_are_generated() -> None:
    accounts = get_stream("accounts")
    assert describe(accounts, "ownerId") == "Id of the owner (a user)."
    assert describe(accounts, "assignedUserIds") == (
        "Ids of the assigned users (users), in Outreach's order."
    )
    assert describe(get_stream("prospects"), "accountId") == "Id of the account."
    assert describe(get_stream("opportunities"), "stageId") == (
        "Id of the stage (an opportunity stage)."
    )
    assert describe(get_stream("prospects"), "emailAddressIds") == (
        "Ids of the email addresses, in Outreach's order."
    )
    assert describe(get_stream("calls"), "kaiaCrmRecordingId") == "Id of the Kaia CRM recording."


def test_polymorphic_relationships_say_so() -> None:
    assert "account or opportunity" in describe(get_stream("calls"), "associatedIdId")
    assert "prospect, account or opportunity" in describe(get_stream("tasks"), "subjectId")
    assert "targetType" in describe(get_stream("favorites"), "targetId")
    assert "snippet" in describe(get_stream("content_category_memberships"), "contentId")


@pytest.mark.parametrize(
    ("stream_name", "column"),
    [
        ("prospects", "nope"),
        ("duties", "ownerId"),  # another stream's relationship column
        ("accounts", "prospectIds"),  # a links-only relationship has no column
        ("accounts", "prospects"),
        ("users", "custom6"),  # users have five custom fields
        ("accounts", "custom151"),
        ("prospects", "assignedUsers"),  # the relationship's name, not its column
        ("prospects", ""),
    ],
)
def test_unknown_columns_raise_key_error(stream_name: str, column: str) -> None:
    with pytest.raises(KeyError, match=rf"{stream_name!r}.*{column!r}"):
        describe(get_stream(stream_name), column)


def test_words_plural_and_article() -> None:
    assert words("defaultPluginMapping") == "default plugin mapping"
    assert words("smsPhone") == "SMS phone"
    assert plural("opportunity") == "opportunities"
    assert plural("mailbox") == "mailboxes"
    assert plural("email address") == "email addresses"
    assert plural("day") == "days"
    assert plural("team") == "teams"
    assert article("opportunity stage") == "an"
    assert article("user") == "a"
    assert article("team") == "a"
