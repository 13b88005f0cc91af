"""Transient failures are retried with backoff; permanent ones fail at once, clearly."""

import dataclasses

import pytest

from outreach_assets.client.bodies import error_summary
from outreach_assets.errors import APIError
from outreach_assets_tests.support.clients import (
    INCREMENTAL,
    SNAPSHOT,
    ListLogger,
    make_client,
    scan_ids,
)

FAULTS = {
    "500": lambda sb: sb.fail_next(2, status=500),
    "503": lambda sb: sb.fail_next(2, status=503),
    "504": lambda sb: sb.fail_next(2, status=504),
    "dropped connection": lambda sb: sb.drop_next(2),
    "truncated body": lambda sb: sb.truncate_next(2),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_transient_failures_are_retried(sandbox_factory, tmp_path, fault):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)
    FAULTS[fault](sb)
    ids = scan_ids(client, INCREMENTAL, page_size=10)
    assert sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    assert client.stats.retries == 2
    assert len(logger.matching("retry ")) == 2


def test_random_faults_still_yield_every_record_once(sandbox_factory, tmp_path):
    sb = sandbox_factory(
        sizes={INCREMENTAL.name: 300},
        error_rate={500: 0.1, 503: 0.1},
        drop_rate=0.05,
        truncate_rate=0.05,
    )
    client = make_client(sb, tmp_path, max_retries=12)
    ids = scan_ids(client, INCREMENTAL, page_size=10)
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    stats = sb.stats
    faults = stats.dropped + stats.truncated + stats.status_counts.get(500, 0)
    faults += stats.status_counts.get(503, 0)
    assert 0 < client.stats.retries <= faults  # the faults happened and were retried


@pytest.mark.parametrize(
    ("inject", "failure"),
    [
        (lambda sb: sb.fail_next(10, status=503), "HTTP 503"),
        (lambda sb: sb.drop_next(10), "ConnectionError"),
        (lambda sb: sb.truncate_next(10), "ChunkedEncodingError"),
    ],
)
def test_exhausted_retries_name_stream_path_attempts_and_failure(
    sandbox_factory, tmp_path, inject, failure
):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    client = make_client(sb, tmp_path, max_retries=2)
    inject(sb)
    with pytest.raises(APIError) as err:
        scan_ids(client, INCREMENTAL)
    message = str(err.value)
    assert f"stream {INCREMENTAL.name!r}" in message
    assert f"GET /api/v2/{INCREMENTAL.path}" in message
    assert "after 3 attempts" in message
    assert failure in message
    assert (err.value.stream, err.value.attempts) == (INCREMENTAL.name, 3)
    assert sb.stats.api_requests == 3


def test_missing_scope_fails_at_once_with_the_json_api_error(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, scopes=[SNAPSHOT.scope])
    client = make_client(sb, tmp_path)
    with pytest.raises(APIError) as err:
        scan_ids(client, INCREMENTAL)
    error = err.value
    assert (error.status, error.error_id) == (403, "unauthorizedOauthScope")
    assert INCREMENTAL.scope in str(error)  # the detail names the missing scope
    assert "outreach-assets auth url" in str(error)
    assert f"/api/v2/{INCREMENTAL.path}" in str(error)
    assert sb.stats.api_requests == 1 and client.stats.retries == 0


def test_unknown_path_is_a_404_pointing_at_the_base_url(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    client = make_client(sb, tmp_path)
    ghost = dataclasses.replace(INCREMENTAL, name="ghosts", path="ghosts")
    with pytest.raises(APIError, match="routeNotFound") as err:
        scan_ids(client, ghost)
    assert err.value.status == 404
    assert "OUTREACH_API_BASE_URL" in str(err.value)
    assert "'ghosts'" in str(err.value)


def test_bad_request_fails_at_once_with_the_error_detail(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, page_size_max=50)
    client = make_client(sb, tmp_path)
    with pytest.raises(APIError, match="HTTP 400") as err:
        scan_ids(client, INCREMENTAL, page_size=100)
    assert err.value.status == 400
    assert sb.stats.api_requests == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"errors":[{"id":"validationError","detail":"Bad x."}]}', "validationError: Bad x."),
        (  # Outreach's own 415 example says `details`
            b'{"errors":[{"id":"unsupportedMediaType","title":"Unsupported Media Type",'
            b'"details":"Expected Content-Type"}]}',
            "unsupportedMediaType: Expected Content-Type",
        ),
        (b'{"errors":[{"id":"x","title":"Only a title"}]}', "x: Only a title"),
        (
            b"<html><body>\n  Bad   Gateway </body></html>",
            "<html><body> Bad Gateway </body></html>",
        ),
        (b"", "(empty body)"),
        (b'{"errors":[{"detail":"token sbx-at-SECRET leaked"}]}', "token [redacted] leaked"),
    ],
)
def test_error_summaries(body, expected):
    assert error_summary(body, ("sbx-at-SECRET",)) == expected
