"""The UI in a real browser: headless Chromium against ``dagster dev`` and a sandbox.

``test_ui.py`` checks what the webserver serves over GraphQL; this checks what a person sees:
the lineage page draws every asset, an asset's page shows the catalog's column descriptions
and a partition's row count, and the Materialize button lands a partition that matches the
sandbox. Screenshots go to the test's ``tmp_path`` and their paths are printed.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``); the test
is skipped where they are missing.
"""

import contextlib
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from outreach_assets.catalog import STREAMS, get_stream
from outreach_assets.catalog.descriptions import describe
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.dagster_dev import dagster_environment
from outreach_assets_tests.support.webserver import (
    Webserver,
    kill_group,
    launch_partition,
    start_dagster_dev,
    wait_for_run,
    wait_until_loaded,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
)

PREFIX = "outreach"  # OutreachTranslator's key prefix and group name
SELECTED = ("accounts", "prospects", "calls")  # OUTREACH_STREAMS: a small graph to render
STREAM = "prospects"
COLUMN = "addressCity"  # a prospects column whose description is the stream's own
DAYS = 3
LOAD_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 180.0
PAGE_TIMEOUT_S = 90.0
POLL_S = 0.5
SKIP_BUTTON = "//button[normalize-space()='Skip']"  # the community prompt's

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
)

ASSET_KEYS_QUERY = "{ assetNodes { assetKey { path } } }"

PARTITION_MATERIALIZED_QUERY = """query Landed($path: [String!]!, $partition: String!) {
  assetNodeOrError(assetKey: {path: $path}) { __typename
    ... on AssetNode { assetMaterializations(partitions: [$partition], limit: 1) { runId } } } }"""


@pytest.fixture
def dagster_dev(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> Iterator[Webserver]:
    """``dagster dev`` on three streams, in its own process group, stopped at teardown.

    Started as every UI test starts it (``support.webserver``), with OUTREACH_STREAMS
    narrowed."""
    today = date.today()
    first = today - timedelta(days=DAYS)
    sb = sandbox_factory(
        start=f"{first.isoformat()}T00:00:00Z", end=f"{today.isoformat()}T00:00:00Z"
    )
    env = {
        **dagster_environment(sb, tmp_path, first.isoformat()),
        "OUTREACH_STREAMS": ",".join(SELECTED),
    }
    server = start_dagster_dev(sb, tmp_path, env, first.isoformat())
    try:
        yield server
    finally:
        kill_group(server.proc, signal.SIGTERM)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile; its last page is saved as a screenshot."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium_profile"
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    try:
        yield driver
    finally:
        with contextlib.suppress(WebDriverException):
            _screenshot(driver, tmp_path / "last_page.png")
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait_for_partition_run(server: Webserver, partition: str) -> None:
    """The run that materialized ``partition`` however it was launched, until it succeeds."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        node = server.graphql(
            PARTITION_MATERIALIZED_QUERY, path=[PREFIX, STREAM], partition=partition
        )
        events = node["assetNodeOrError"]["assetMaterializations"]
        if events:
            wait_for_run(server, events[0]["runId"], RUN_TIMEOUT_S)
            return
        time.sleep(POLL_S)
    pytest.fail(
        f"{STREAM} {partition} not materialized in {RUN_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
    )


def _assert_partition_matches_sandbox(server: Webserver, day: str) -> int:
    file = server.data_dir / STREAM / f"{day}.parquet"
    landed = sorted(pq.read_table(file).column("id").to_pylist())
    assert server.sandbox is not None
    truth = server.sandbox.truth(STREAM)
    assert landed == sorted(i for i, cursor in truth.items() if cursor.startswith(day))
    assert landed, f"the sandbox should have {STREAM} on {day}"
    return len(landed)


# --- the browser -------------------------------------------------------------------------


def _screenshot(driver: WebDriver, path: Path) -> None:
    """The page as shown, without the community prompt if it opened over it."""
    _dismiss_community_prompt(driver)
    with contextlib.suppress(TimeoutException):
        WebDriverWait(driver, 10, poll_frequency=POLL_S).until(
            lambda d: not d.find_elements(By.XPATH, SKIP_BUTTON)
        )
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")


def _lines(driver: WebDriver) -> list[str]:
    try:
        return [line.strip() for line in driver.find_element(By.TAG_NAME, "body").text.splitlines()]
    except StaleElementReferenceException:
        return []


def _wait(driver: WebDriver, what: str, until: Callable[[WebDriver], Any]) -> Any:
    # A click can land while a dialog animates in or React re-renders: try again next poll.
    retry = (
        StaleElementReferenceException,
        ElementClickInterceptedException,
        ElementNotInteractableException,
    )
    wait = WebDriverWait(driver, PAGE_TIMEOUT_S, poll_frequency=POLL_S, ignored_exceptions=retry)
    return wait.until(until, message=what)


def _dismiss_community_prompt(driver: WebDriver) -> None:
    """A fresh profile gets Dagster's "Join the Dagster community" dialog over the page."""
    for button in driver.find_elements(By.XPATH, SKIP_BUTTON):
        with contextlib.suppress(WebDriverException):
            button.click()


def _button(driver: WebDriver, text: str, within: WebElement | None = None) -> WebElement | None:
    """The visible, enabled button whose text starts with ``text``."""
    root: WebDriver | WebElement = within if within is not None else driver
    for button in root.find_elements(
        By.XPATH, f'.//button[starts-with(normalize-space(), "{text}")]'
    ):
        if button.is_displayed() and button.is_enabled():
            return button
    return None


def _click(button: WebElement | None) -> bool:
    if button is None:
        return False
    button.click()
    return True


def _open(driver: WebDriver, url: str, *expected: str) -> list[str]:
    """Go to ``url`` and wait until every ``expected`` string is a whole line of the page."""
    driver.get(url)

    def shown(d: WebDriver) -> list[str] | None:
        _dismiss_community_prompt(d)
        lines = _lines(d)
        return lines if set(expected) <= set(lines) else None

    lines: list[str] = _wait(driver, f"{url} to show {expected}", shown)
    return lines


def _assert_lineage_shows_every_asset(server: Webserver, driver: WebDriver, shot: Path) -> None:
    streams = [s for s in STREAMS if s.name in SELECTED]
    assert sorted(s.name for s in streams) == sorted(SELECTED)
    names = {"custom_fields"}
    for s in streams:
        names |= {s.name, f"{s.name}_current", f"{s.name}_deletions"}
    served = {tuple(n["assetKey"]["path"]) for n in server.graphql(ASSET_KEYS_QUERY)["assetNodes"]}
    assert served == {(PREFIX, name) for name in names}
    # The lineage page lists every asset beside the graph (which draws only the nodes in
    # view), and the catalog lists them all as rows.
    _open(driver, f"{server.base_url}/assets", *sorted(f"{PREFIX} / {name}" for name in names))
    _open(driver, f"{server.base_url}/asset-groups/{PREFIX}", *sorted(names))
    _screenshot(driver, shot)


def _assert_asset_page_shows_metadata(
    server: Webserver, driver: WebDriver, day: str, rows: int, shot: Path
) -> None:
    description = describe(get_stream(STREAM), COLUMN)
    _open(driver, f"{server.base_url}/assets/{PREFIX}/{STREAM}", "Columns", description)
    _screenshot(driver, shot)
    url = f"{server.base_url}/assets/{PREFIX}/{STREAM}?view=partitions&partition={day}"
    lines = _open(driver, url, "Metadata", "dagster/row_count")
    label = lines.index("dagster/row_count")
    assert lines[label + 1] == str(rows), lines[label : label + 3]
    _screenshot(driver, shot.with_name("partition_page.png"))


def _materialize_from_the_ui(server: Webserver, driver: WebDriver, day: str, shot: Path) -> None:
    _open(driver, f"{server.base_url}/assets/{PREFIX}/{STREAM}", "Materialize…")
    _wait(driver, "a click on Materialize", lambda d: _click(_button(d, "Materialize")))

    def launch_dialog(d: WebDriver) -> WebElement | None:
        # The UI warns first that the upstream custom_fields asset was never materialized.
        confirm = _button(d, "Confirm")
        if confirm is not None:
            confirm.click()
            return None
        for dialog in d.find_elements(By.CSS_SELECTOR, "[role=dialog]"):
            if "Partition selection" in dialog.text:
                return dialog
        return None

    dialog: WebElement = _wait(driver, "the partition dialog", launch_dialog)
    field = dialog.find_element(By.CSS_SELECTOR, "input[type=text]")
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(day, Keys.ENTER)
    _wait(driver, "a 'Launch 1 run' button", lambda d: _button(d, "Launch 1 run", dialog))
    _screenshot(driver, shot)
    _wait(driver, "a click on 'Launch 1 run'", lambda d: _click(_button(d, "Launch 1 run", dialog)))


def test_browser_shows_the_assets_their_metadata_and_materializes_a_partition(
    dagster_dev: Webserver, browser: WebDriver, tmp_path: Path
) -> None:
    wait_until_loaded(dagster_dev, LOAD_TIMEOUT_S)

    # 1. The lineage page names every asset the deployment defines.
    _assert_lineage_shows_every_asset(dagster_dev, browser, tmp_path / "asset_graph.png")

    # 2. One partition materialized over GraphQL; its page shows descriptions and row count.
    first = dagster_dev.first_day
    wait_for_run(dagster_dev, launch_partition(dagster_dev, STREAM, first), RUN_TIMEOUT_S)
    rows = _assert_partition_matches_sandbox(dagster_dev, first)
    _assert_asset_page_shows_metadata(
        dagster_dev, browser, first, rows, tmp_path / "asset_page.png"
    )

    # 3. Materialize… in the UI, one partition picked, lands that day as the sandbox has it.
    second = (date.fromisoformat(first) + timedelta(days=1)).isoformat()
    assert not (dagster_dev.data_dir / STREAM / f"{second}.parquet").exists()
    _materialize_from_the_ui(dagster_dev, browser, second, tmp_path / "materialize_dialog.png")
    _wait_for_partition_run(dagster_dev, second)
    _assert_partition_matches_sandbox(dagster_dev, second)
