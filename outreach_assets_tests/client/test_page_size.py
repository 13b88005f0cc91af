"""The page size under gateway failures: halved only when a 502/504 repeats for a page, grown
back after a run of pages, never changed by random 500/503s, drops or truncations."""

import time

from outreach_assets.client.pagesize import GROW_AFTER_PAGES
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import INCREMENTAL, ListLogger, make_client, scan_ids
from outreach_assets_tests.support.wire import PROSPECTS

# p(5xx) = 0.3 spread over the four statuses, p(drop) = 0.1, p(truncate) = 0.1: an attempt
# succeeds with probability 0.9 * 0.7 * 0.9 = 0.567, so a page takes 1 / 0.567 = 1.76
# requests on average; a page fails all 16 attempts of max_retries=15 with probability
# 0.433**16 = 1.5e-6, so a 20-page scan exhausts them once in about 30,000 runs (the default
# 6 retries would fail one in 17). Seed 8 is a run that halves the size once and grows back.
HEAVY_FAULTS = {
    "error_rate": {500: 0.075, 502: 0.075, 503: 0.075, 504: 0.075},
    "drop_rate": 0.1,
    "truncate_rate": 0.1,
}


def test_a_20000_record_scan_under_heavy_random_faults_is_exact_in_under_twice_the_requests(
    sandbox_factory, tmp_path
):
    assert PROSPECTS is not None
    sb: SandboxServer = sandbox_factory(seed=8, sizes={PROSPECTS.name: 20_000})
    clean = make_client(sb, tmp_path, token_store_path=tmp_path / "clean.json")
    assert sorted(scan_ids(clean, PROSPECTS)) == sorted(sb.truth(PROSPECTS.name))
    sb.configure(**HEAVY_FAULTS)
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, max_retries=15)
    started = time.monotonic()
    ids = scan_ids(client, PROSPECTS)
    took = time.monotonic() - started
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sb.truth(PROSPECTS.name))
    assert client.stats.requests < 2 * clean.stats.requests, logger.text()
    assert took < 60
    changes = logger.matching("page size")
    assert any("-> 500 (HTTP 50" in m for m in changes), changes  # this seed shrinks once...
    assert any("500 -> 1000 (4 pages in a row" in m for m in changes), changes  # ...and grows


def test_a_single_502_or_504_per_page_leaves_the_page_size(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 100})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)
    pages = client.iter_pages(INCREMENTAL, page_size=20)
    sizes = []
    for status in (502, 504, 502, 504, 502):
        sb.fail_next(1, status=status)  # one gateway failure before every page
        sizes.append(next(pages).page_size)
    assert len(list(pages)) == 0  # 100 records: the five pages were all
    assert sizes == [20] * 5
    assert client.stats.page_size_reductions == 0 and not logger.matching("page size")
    assert sb.stats.status_counts.get(502, 0) + sb.stats.status_counts.get(504, 0) == 5


def test_500_503_drops_and_truncations_never_change_the_page_size(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 60})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, max_retries=12)
    sb.fail_next(3, status=500)
    sb.fail_next(3, status=503)
    sb.drop_next(3)
    sb.truncate_next(3)
    pages = list(client.iter_pages(INCREMENTAL, page_size=20))
    assert [p.page_size for p in pages] == [20, 20, 20]
    assert client.stats.retries == 12 and not logger.matching("page size")


def test_a_502_that_repeats_halves_the_page_and_a_run_of_pages_doubles_it_back(
    sandbox_factory, tmp_path
):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 400})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)
    pages = client.iter_pages(INCREMENTAL, page_size=40)
    first = next(pages)
    sb.fail_next(2, status=504)  # the second page fails twice at 40: halved to 20
    halved = [next(pages) for _ in range(GROW_AFTER_PAGES)]
    rest = list(pages)
    ids = [int(r["id"]) for p in [first, *halved, *rest] for r in p.records]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    assert [p.page_size for p in halved] == [20] * GROW_AFTER_PAGES
    assert {p.page_size for p in rest} == {40}
    shrink, grow = logger.matching("page size")
    name = INCREMENTAL.name
    assert shrink == f"{name}: page 2: page size 40 -> 20 (HTTP 504 2 times at page size 40)"
    assert grow == f"{name}: page 6: page size 20 -> 40 (4 pages in a row at 20)"
    assert client.stats.page_size_reductions == 1
