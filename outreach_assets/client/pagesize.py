"""How many records a scan asks for per page: smaller after repeated gateway failures, back up
after a run of pages served.

A 502 or 504 is how the gateway in front of Outreach says that a page took too long to
build, which a smaller page fixes; but the same statuses also come at random, and halving on
every one of them made a scan under 10% random 5xx end at 10 records a page, with 100 times
the requests. What the client can observe is whether the failure repeats: a page too big to
build fails again at the same size, a random one usually does not. So the size halves only
when a 502/504 comes :data:`REPEATS_TO_SHRINK` times for the same page at the same size, and
it doubles again (up to the size the scan started with) after :data:`GROW_AFTER_PAGES`
pages in a row were served at the current size. A growth that is undone before it held for
a whole run doubles the run the next growth waits for, so a size that really is too big
costs a couple of failed requests every few dozen pages, not every few. A 500, a 503, a
dropped connection or a truncated body never changes the size: none says the page was big.
"""

from dataclasses import dataclass
from typing import Final

from outreach_assets.client.scan import Scan

SHRINK_STATUSES: Final = frozenset({502, 504})  # the gateway gave up on a slow, big page
REPEATS_TO_SHRINK: Final = 2  # 502/504s for one page at one size before halving it
GROW_AFTER_PAGES: Final = 4  # pages served in a row at one size before doubling it
MAX_STRIKES: Final = 5  # the run a growth waits for is at most 2**5 times the first one


@dataclass
class PageSizer:
    """The page-size decisions of one scan; the size itself lives in ``scan.page_size``."""

    scan: Scan
    ceiling: int  # the size the scan started with: growth stops here
    page: int = 0  # the page the gateway failures below were counted on
    gateway_failures: int = 0  # 502/504s for that page at the current size
    run: int = 0  # pages served in a row at the current size
    strikes: int = 0  # growths undone before they held, since one last held
    growing: bool = False  # the current size came from a growth that has not held yet

    def gateway_failure(self, status: int) -> bool:
        """Count a 502/504 for the page being fetched; whether the size was halved."""
        page = self.scan.pages + 1
        if page != self.page:
            self.page, self.gateway_failures = page, 0
        self.gateway_failures += 1
        size = self.scan.page_size
        smaller = max(self.scan.min_page_size, size // 2)
        if self.gateway_failures < REPEATS_TO_SHRINK or smaller >= size:
            return False
        if self.growing:
            self.strikes = min(MAX_STRIKES, self.strikes + 1)
        why = f"HTTP {status} {self.gateway_failures} times at page size {size}"
        self._change(smaller, why, grow=False)
        self.growing = False
        return True

    def page_served(self, *, more: bool) -> None:
        """Count a page served at the current size, and double the size for the next page
        once enough pages in a row held (never after the last page, ``more`` being false:
        there is no next one)."""
        self.run += 1
        self.gateway_failures = 0
        if self.growing and self.run >= GROW_AFTER_PAGES:
            self.growing, self.strikes = False, 0  # the grown size held for a whole run
        size = self.scan.page_size
        if not more or size >= self.ceiling or self.run < GROW_AFTER_PAGES << self.strikes:
            return
        self._change(min(self.ceiling, size * 2), f"{self.run} pages in a row at {size}", grow=True)
        self.growing = True

    def _change(self, size: int, why: str, *, grow: bool) -> None:
        """Set the size from the next request on, saying so: a smaller one as a warning."""
        scan = self.scan
        say = scan.log.info if grow else scan.log.warning
        say(f"{scan.stream}: page {scan.pages + 1}: page size {scan.page_size} -> {size} ({why})")
        scan.page_size = size
        self.run = self.gateway_failures = 0
