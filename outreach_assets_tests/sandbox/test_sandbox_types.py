"""`GET /api/v2/types`: the custom-field validations Outreach documents
(https://developers.outreach.io/api/reference/overview/), behind the same token, rate
budget, faults and counters as every API request, but no stream scope."""

import re

import pytest
import requests

from outreach_assets.catalog import STREAMS_BY_TYPE
from outreach_assets.sandbox.customfields import VALIDATION_TYPES
from outreach_assets_tests.support.wire import INCREMENTAL, error_id, get, session_for

# The catalog's object types with custom fields that Outreach's reference lists for /types.
OBJECT_TYPES = {"account", "opportunity", "prospect", "product", "purchase"}


def _types(sb, session: requests.Session | None = None) -> requests.Response:
    return (session or session_for(sb)).get(f"{sb.api_base_url}/types", timeout=10)


def test_types_lists_the_configured_custom_fields_of_each_object(sandbox):
    answer = _types(sandbox)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/vnd.api+json")
    body = answer.json()
    assert set(body) == {"data"}
    assert {entry["type"] for entry in body["data"]} == OBJECT_TYPES
    served = {entry["type"]: entry["meta"]["validations"] for entry in body["data"]}
    assert all(set(entry) == {"type", "meta"} for entry in body["data"])
    assert served == sandbox.custom_fields()
    for object_type, validations in served.items():
        custom = {
            f.name
            for f in STREAMS_BY_TYPE[object_type].fields
            if re.fullmatch(r"custom\d+", f.name)
        }
        assert set(validations) <= custom
        assert 0.05 * len(custom) <= len(validations) <= 0.2 * len(custom)  # about a tenth
        labels = [v["label"] for v in validations.values()]
        assert len(set(labels)) == len(labels) and all(labels)
        for validation in validations.values():
            _check_validation(validation)


def _check_validation(validation: dict) -> None:
    assert set(validation) == {"type", "required", "label", "definition"}
    kind, definition = validation["type"], validation["definition"]
    assert kind in VALIDATION_TYPES and isinstance(validation["required"], bool)
    assert isinstance(validation["label"], str) and not validation["label"].startswith("custom")
    if kind in ("inclusion", "multi_inclusion"):  # the pick list's options
        assert definition and all(isinstance(option, str) for option in definition)
    elif kind == "currency":  # the currency's code
        assert isinstance(definition, str) and re.fullmatch(r"[A-Z]{3}", definition)
    else:
        assert definition is None


def test_types_are_deterministic_from_the_seed(sandbox_factory):
    first, second, other = (sandbox_factory(seed=s) for s in (2, 2, 3))
    assert first.custom_fields() == second.custom_fields() != other.custom_fields()
    assert _types(first).content == _types(second).content
    kinds = {v["type"] for fields in first.custom_fields().values() for v in fields.values()}
    assert len(kinds) >= 6  # a realistic mix, not one validation type
    first.custom_fields()["account"].clear()  # a copy: the served content is untouched
    assert first.custom_fields()["account"]


def test_types_needs_a_valid_token_but_no_scope(sandbox_factory):
    sb = sandbox_factory(scopes=[INCREMENTAL.scope])
    url = f"{sb.api_base_url}/types"
    for headers in ({}, {"Authorization": "Bearer forged"}):
        answer = requests.get(url, headers=headers, timeout=10)
        assert answer.status_code == 401 and error_id(answer) == "unauthorized"
    assert _types(sb).status_code == 200
    assert requests.post(url, timeout=10).status_code == 401  # the token comes first
    assert session_for(sb).post(url, timeout=10).status_code == 404


def test_types_is_rate_limited_and_counted_like_any_request(sandbox_factory):
    sb = sandbox_factory(rate_limit=3)
    session = session_for(sb)
    first = _types(sb, session)
    assert first.headers["X-RateLimit-Limit"] == "3"
    assert first.headers["X-RateLimit-Remaining"] == "2"
    assert get(session, sb, INCREMENTAL).status_code == 200  # one budget for both
    assert _types(sb, session).status_code == 200
    limited = _types(sb, session)
    assert limited.status_code == 429 and error_id(limited) == "rateLimitExceeded"
    stats = sb.stats
    assert stats.api_requests == 4 and stats.requests_by_path["/api/v2/types"] == 3
    assert stats.rate_limited == 1 and stats.records_served == len(sb.truth(INCREMENTAL.name))


def test_types_gets_the_injected_faults(sandbox):
    session = session_for(sandbox)
    sandbox.fail_next(1, status=503)
    assert _types(sandbox, session).status_code == 503
    sandbox.drop_next(1)
    with pytest.raises(requests.ConnectionError):
        _types(sandbox, session)
    sandbox.expire_access_tokens()
    answer = _types(sandbox, session)
    assert answer.status_code == 401 and error_id(answer) == "expiredAccessToken"
