"""The id sweep over real HTTP: every id and cursor, 1,000 a request, exact under faults,
and never a partial answer."""

import math
import threading

import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.client.census import NO_CURSOR, take_census
from outreach_assets.errors import RetriableError, ScanCancelled
from outreach_assets.timestamps import parse_timestamp, to_micros
from outreach_assets_tests.support.clients import make_client

PROSPECTS = get_stream("prospects")
DUTIES = get_stream("duties")


def _truth_micros(truth: dict[int, str]) -> list[int]:
    micros = []
    for _, text in sorted(truth.items()):
        moment = parse_timestamp(text)
        micros.append(NO_CURSOR if moment is None else to_micros(moment))
    return micros


def test_a_census_returns_every_id_with_its_cursor_1000_a_request(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"prospects": 2_345})
    sb.delete("prospects", count=45)
    client = make_client(sb, tmp_path)
    census = take_census(client, PROSPECTS)
    truth = sb.truth("prospects")
    assert list(census.ids) == sorted(truth)
    assert census.cursors is not None and list(census.cursors) == _truth_micros(truth)
    assert census.requests == census.pages == math.ceil(len(truth) / 1000)
    seen = sb.stats
    assert seen.api_requests == census.requests


def test_a_snapshot_census_has_ids_only(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    census = take_census(make_client(sb, tmp_path), DUTIES)
    assert list(census.ids) == sorted(sb.truth("duties"))
    assert census.cursors is None


FAULTS = {
    "5xx": lambda sb: sb.fail_next(3, status=503),
    "502 (a page size that must not shrink a sweep)": lambda sb: sb.fail_next(2, status=502),
    "dropped connections": lambda sb: sb.drop_next(2),
    "truncated bodies": lambda sb: sb.truncate_next(2),
    "a 401 mid-sweep": lambda sb: sb.expire_after_requests(2),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_census_under_faults_is_exact(sandbox_factory, tmp_path, fault):
    sb = sandbox_factory(sizes={"prospects": 4_200})
    client = make_client(sb, tmp_path)
    FAULTS[fault](sb)
    census = take_census(client, PROSPECTS)
    assert list(census.ids) == sorted(sb.truth("prospects"))


def test_a_census_under_a_tight_rate_limit_waits_and_is_exact(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"prospects": 3_500}, rate_limit=2, rate_window_s=1.0)
    client = make_client(sb, tmp_path, quota_limit=1.0)
    census = take_census(client, PROSPECTS)
    assert list(census.ids) == sorted(sb.truth("prospects"))
    assert client.stats.rate_limit_waits > 0


def test_a_census_that_fails_raises_instead_of_answering_in_part(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"prospects": 3_000})
    client = make_client(sb, tmp_path, max_retries=1)
    pages = []

    def fail_after_the_first_page() -> None:
        sb.fail_next(5, status=503)

    original = client.iter_pages

    def spy(*args, **kwargs):
        for page in original(*args, **kwargs):
            pages.append(page)
            fail_after_the_first_page()
            yield page

    client.iter_pages = spy  # type: ignore[method-assign]
    with pytest.raises(RetriableError, match="failed after 2 attempts"):
        take_census(client, PROSPECTS)
    assert len(pages) == 1  # one page came, then the sweep failed: no census at all


def test_a_stopped_census_raises(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"prospects": 100}, rate_limit=1, rate_window_s=3600.0)
    client = make_client(sb, tmp_path)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ScanCancelled):
        take_census(client, PROSPECTS, cancel=cancel)
