"""A 200 that is whole but no JSON:API page, or that leads off the API host, fails at once with
what answered; a body cut short is still retried and the data still lands."""

import time
from typing import Any

import pytest

from outreach_assets.client.bodies import Body, Rejected, accept
from outreach_assets.errors import FatalError, UnexpectedResponseError
from outreach_assets_tests.support.clients import INCREMENTAL, ListLogger, make_client, scan_ids
from outreach_assets_tests.support.wire import get, session_for

WRONG: dict[str, tuple[dict[str, Any], str, str]] = {
    "an HTML login page": ({"html_rate": 1.0}, "text/html; charset=utf-8", "<!DOCTYPE html>"),
    "an object that is no JSON:API list": (
        {"not_jsonapi_rate": 1.0},
        "application/json; charset=utf-8",
        '{"ok": true}',
    ),
    "a JSON list": (
        {"not_jsonapi_rate": 1.0, "not_jsonapi_body": "[1, 2]"},
        "application/json; charset=utf-8",
        "[1, 2]",
    ),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_a_whole_200_that_is_no_page_fails_at_once_naming_what_answered(
    sandbox_factory, tmp_path, case
):
    switches, content_type, start = WRONG[case]
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30}, **switches)
    client = make_client(sb, tmp_path)  # the default 6 retries: none may be used
    started = time.monotonic()
    with pytest.raises(UnexpectedResponseError) as err:
        scan_ids(client, INCREMENTAL)
    assert time.monotonic() - started < 5
    assert isinstance(err.value, FatalError)
    message = str(err.value)
    assert f"stream {INCREMENTAL.name!r}" in message
    assert f"GET /api/v2/{INCREMENTAL.path}" in message
    assert "HTTP 200" in message and f"Content-Type {content_type}" in message
    assert start in message
    assert (err.value.status, err.value.stream) == (200, INCREMENTAL.name)
    assert sb.stats.api_requests == 1 and client.stats.retries == 0


def test_the_body_start_in_the_message_is_redacted_and_short(sandbox_factory, tmp_path):
    sb = sandbox_factory(not_jsonapi_rate=1.0)
    secret = sb.config.client_secret
    sb.configure(not_jsonapi_body=f'{{"echo": "{secret}", "pad": "{"x" * 500}"}}')
    with pytest.raises(UnexpectedResponseError) as err:
        scan_ids(make_client(sb, tmp_path), INCREMENTAL)
    message = str(err.value)
    assert secret not in message and "[redacted]" in message
    assert "x" * 200 not in message  # the first ~200 bytes, not the whole body


def test_a_next_link_to_another_host_fails_the_step_instead_of_a_retry(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30}, next_link_origin="http://127.0.0.2:9")
    client = make_client(sb, tmp_path)
    with pytest.raises(UnexpectedResponseError, match="another host") as err:
        scan_ids(client, INCREMENTAL, page_size=10)
    # A FatalError, not a RetriableError: the stream assets (outreach_failures) fail the
    # step instead of asking Dagster for a retry that would meet the same link.
    assert isinstance(err.value, FatalError)
    assert sb.stats.api_requests == 1  # page 1 only; nothing was sent to the other host


def test_a_truncated_body_is_still_retried_and_the_data_lands(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)
    sb.truncate_next(3)
    ids = scan_ids(client, INCREMENTAL, page_size=10)
    assert sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    assert client.stats.retries == 3
    assert len(logger.matching("ChunkedEncodingError")) == 3


def test_every_cut_of_a_served_page_is_judged_cut_short(sandbox_factory):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 3})
    answer = get(session_for(sb), sb, INCREMENTAL)
    body, headers = answer.content, {"Content-Type": answer.headers["Content-Type"]}
    assert isinstance(accept(body, None, headers), Body)
    for end in range(len(body)):
        verdict = accept(body[:end], None, headers)
        assert isinstance(verdict, Rejected) and verdict.cut_short, (end, body[end - 20 : end])
    short = accept(body[:-1], None, {**headers, "Content-Length": str(len(body))})
    assert isinstance(short, Rejected) and short.cut_short and "cut short" in short.why
    html = accept(b"<html>Sign in</html>", None, {"Content-Type": "text/html"})
    assert isinstance(html, Rejected) and not html.cut_short
