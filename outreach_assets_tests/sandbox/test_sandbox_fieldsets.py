"""Sparse fieldsets (https://jsonapi.org/format/#fetching-sparse-fieldsets): `fields[<type>]`
keeps only the named attributes and relationships of that type's resources, the same values
as the full resource, with every filter, sort and cursor; an empty one keeps type and id."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.wire import (
    DRIFTED,
    DRIFTING,
    INCREMENTAL,
    PROSPECTS,
    bounds,
    get,
    ids_of,
    pages,
    session_for,
    walk,
)

UNKNOWN = "noSuchField"


def _names(stream: Stream) -> list[str]:
    """One of each kind of field the stream has: the cursor, the spliced `name`, a shared
    attribute, and a relationship of each shape."""
    picks = [
        stream.cursor,
        "name" if any(f.name == "name" for f in stream.fields) else None,
        next((f.name for f in stream.fields if f.name not in {stream.cursor, "name"}), None),
        next((r.name for r in stream.relationships), None),
        next((r.name for r in stream.to_many), None),
        next(iter(stream.links_only), None),
    ]
    return [name for name in picks if name is not None]


def _sparse(record: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """What the full ``record`` becomes under ``fields[<type>]=names``: members that keep
    nothing are left out."""
    out = {"type": record["type"], "id": record["id"]}
    for member in ("attributes", "relationships"):
        kept = {k: v for k, v in record[member].items() if k in names}
        if kept:
            out[member] = kept
    return {**out, "links": record["links"]}


def _fields(stream: Stream, value: str) -> dict[str, str]:
    return {f"fields[{stream.json_type}]": value, "page[size]": "1000"}


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_a_fieldset_keeps_exactly_the_named_fields_of_every_stream(sandbox_factory, stream):
    sb = sandbox_factory(records=12, unknown_relationships=True)
    session = session_for(sb)
    full = walk(session, sb, stream, **{"page[size]": 1000})
    names = _names(stream)
    for chosen in (names, names[:1], names[-1:], ["sandboxTags", "sandboxNote"], [UNKNOWN], []):
        sparse = walk(session, sb, stream, **_fields(stream, ",".join([*chosen, UNKNOWN])))
        assert sparse == [_sparse(r, set(chosen)) for r in full], chosen


def test_an_empty_fieldset_keeps_type_id_and_the_self_link(sandbox):
    session = session_for(sandbox)
    records = walk(session, sandbox, INCREMENTAL, **_fields(INCREMENTAL, ""))
    assert len(records) == 40
    assert all(set(r) == {"type", "id", "links"} for r in records)
    assert records[0]["links"] == {"self": f"{sandbox.api_base_url}/{INCREMENTAL.path}/1"}


def test_a_fieldset_for_another_type_changes_nothing(sandbox):
    session = session_for(sandbox)
    other = "prospect" if INCREMENTAL.json_type != "prospect" else "account"
    plain = get(session, sandbox, INCREMENTAL, **{"page[size]": 9}).json()["data"]
    assert (
        get(session, sandbox, INCREMENTAL, **{f"fields[{other}]": "", "page[size]": 9}).json()[
            "data"
        ]
        == plain
    )


def test_a_fieldset_keeps_drifted_values_as_sent(sandbox_factory):
    sb = sandbox_factory(sizes={DRIFTING.name: 200}, wrong_type_variants=8)
    session = session_for(sb)
    full = walk(session, sb, DRIFTING, **{"page[size]": 1000})
    sparse = walk(session, sb, DRIFTING, **_fields(DRIFTING, DRIFTED))
    assert sparse == [_sparse(r, {DRIFTED}) for r in full]
    assert any(isinstance(r["attributes"][DRIFTED], str) for r in sparse)


def _paged(sb: SandboxServer, stream: Stream, **params: Any) -> list[dict]:
    """Every page of a query, checking that each links.next carries every parameter."""
    bodies = list(pages(session_for(sb), sb, stream, **params))
    for body in bodies[:-1]:
        carried = dict(parse_qsl(urlsplit(body["links"]["next"]).query, keep_blank_values=True))
        assert {k: carried[k] for k in params} == {k: str(v) for k, v in params.items()}
    return [record for body in bodies for record in body["data"]]


def test_fieldsets_combine_with_filters_sorts_cursors_and_counts(sandbox_factory):
    sb = sandbox_factory(records=90)
    sb.delete(INCREMENTAL.name, count=7)
    cursor = INCREMENTAL.cursor
    assert cursor is not None
    lo, hi = bounds(sb, INCREMENTAL)
    window = {f"filter[{cursor}]": f"{lo}..{hi}"}
    for sort in ("id", "-id", cursor, f"-{cursor}", "createdAt"):
        for where in ({}, window, {"filter[id]": "10..70"}):
            params = {"sort": sort, "page[size]": 8, **where}
            full = _paged(sb, INCREMENTAL, **params)
            for value in (cursor, "", f"{cursor},owner"):
                fields = {f"fields[{INCREMENTAL.json_type}]": value}
                sparse = _paged(sb, INCREMENTAL, **params, **fields)
                assert sparse == [_sparse(r, set(value.split(","))) for r in full], params
    session = session_for(sb)
    counted = get(session, sb, INCREMENTAL, **window, **_fields(INCREMENTAL, cursor))
    assert (
        counted.json()["meta"]["count"]
        == get(session, sb, INCREMENTAL, **window).json()["meta"]["count"]
    )


def test_a_single_resource_honours_its_fieldset(sandbox):
    session = session_for(sandbox)
    url = f"{sandbox.api_base_url}/{INCREMENTAL.path}/3"
    full = session.get(url, timeout=10).json()
    sparse = session.get(url, params={f"fields[{INCREMENTAL.json_type}]": "name"}, timeout=10)
    assert sparse.json() == {**full, "data": _sparse(full["data"], {"name"})}


@pytest.mark.skipif(PROSPECTS is None, reason="no prospects stream in the catalog")
def test_an_id_sweep_page_is_a_small_fraction_of_a_full_one(sandbox_factory):
    """What delete detection pays per record: the id and the cursor, not the record."""
    assert PROSPECTS is not None
    sb = sandbox_factory(sizes={PROSPECTS.name: 1000})
    session = session_for(sb)
    common = {"sort": "id", "count": "false", "page[size]": 1000}
    full = get(session, sb, PROSPECTS, **common)
    sparse = get(session, sb, PROSPECTS, **common, **{"fields[prospect]": "updatedAt"})
    assert ids_of(sparse.json()["data"]) == ids_of(full.json()["data"]) == list(range(1, 1001))
    assert len(sparse.content) * 20 < len(full.content)
    assert len(sparse.content) < 200 * 1000  # bytes a record, with its self link
