"""Run iterators ahead of their consumer in background threads, with bounded memory.

A stream scan waits for each response about as long as the run spends converting and
writing the page before it, and fetching only when asked adds the two up. Here each source
runs in its own thread and stays at most ``depth`` items ahead of the consumer: the item
being fetched counts, so with ``depth=1`` memory holds the page being converted plus the
one on its way, never more (a page of prospects is about 7 MB of JSON).

Several sources (disjoint slices of one scan) share one buffer: the consumer gets items in
the order they arrive, each source's items in its own order. A source's exception reaches
the consumer after the items that source produced before it, as the same exception object
(its traceback still shows where it was raised). When the consumer stops early (it closes
the iterator, raises, or is interrupted), the buffered items are dropped, each producer
finishes the item it is fetching, closes its source in its own thread and ends; ``close``
returns only once every producer thread has ended, so no thread outlives the iteration.
Producers are daemon threads all the same: one whose consumer was forgotten without being
closed must not keep the process alive.

"Finishes the item it is fetching" must not mean "sleeps out an hour-long quota wait": a
source that waits (``OutreachClient.iter_pages``) takes a ``cancel`` event, and closing
sets it before joining, so the wait ends at once (a signal would not reach these threads:
only the main thread gets them).
"""

import threading
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class _Failure:
    """A producer's exception, queued behind the items it produced before failing."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _End:
    """Every producer has ended and every item has been taken."""


_END = _End()


class _Buffer(Generic[T]):
    """What the producers and the consumer share, guarded by one condition variable.

    ``ahead`` counts items fetched or being fetched that the consumer has not taken yet; a
    producer reserves its place before fetching, so the bound holds during the fetch too.
    """

    def __init__(self, limit: int, producers: int) -> None:
        self._cond = threading.Condition()
        self._items: deque[T | _Failure] = deque()
        self._limit = limit
        self._ahead = 0
        self._running = producers
        self._stopped = False

    def reserve(self) -> bool:
        """Wait for room to fetch one more item; False once the consumer has stopped."""
        with self._cond:
            while self._ahead >= self._limit and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return False
            self._ahead += 1
            return True

    def put(self, item: T | _Failure) -> None:
        with self._cond:
            if not self._stopped:  # a stopped consumer will never take it
                self._items.append(item)
                self._cond.notify_all()

    def unreserve(self) -> None:
        """The source ended without an item for the place reserved."""
        with self._cond:
            self._ahead -= 1
            self._cond.notify_all()

    def retire(self) -> None:
        """A producer has ended (its source is exhausted, failed or closed)."""
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def take(self) -> T | _Failure | _End:
        """The next item, waiting for one while any producer still runs."""
        with self._cond:
            while not self._items and self._running > 0:
                self._cond.wait()
            if not self._items:
                return _END
            item = self._items.popleft()
            self._ahead -= 1
            self._cond.notify_all()
            return item

    def stop(self) -> None:
        """The consumer is done: drop what is buffered and wake every waiting producer."""
        with self._cond:
            self._stopped = True
            self._items.clear()
            self._cond.notify_all()


def _produce(source: Iterator[T], buffer: _Buffer[T]) -> None:
    try:
        while buffer.reserve():
            try:
                item = next(source)
            except StopIteration:
                buffer.unreserve()
                return
            except BaseException as exc:  # the consumer decides what a failure means
                buffer.put(_Failure(exc))
                return
            buffer.put(item)
    finally:
        try:
            if isinstance(source, Generator):
                source.close()  # in the thread that ran it; the scan's cleanup runs here
        finally:
            buffer.retire()


class Prefetcher(Generic[T]):
    """Iterate ``sources`` in background threads, at most ``depth`` items ahead per source.

    Use as a context manager: the threads start on entry, and leaving the block (normally,
    by an exception, or because the generator holding it was closed) stops and joins them.

    ``cancel`` is the sources' stop signal (the event their ``iter_pages`` calls were given),
    set on closing before the end; see :meth:`close`.
    """

    def __init__(
        self,
        sources: Sequence[Iterator[T]],
        depth: int = 1,
        *,
        name: str,
        cancel: threading.Event | None = None,
    ) -> None:
        if depth < 1:
            raise ValueError(f"prefetch depth must be at least 1 (got {depth})")
        if not sources:
            raise ValueError("nothing to prefetch: no sources")
        self._buffer: _Buffer[T] = _Buffer(depth * len(sources), len(sources))
        self._threads = [
            threading.Thread(
                target=_produce,
                args=(source, self._buffer),
                name=f"{name}-{index + 1}",
                daemon=True,
            )
            for index, source in enumerate(sources)
        ]
        self._started = False
        self._cancel = cancel
        self._finished = False  # the consumer took every item and the end

    def __enter__(self) -> "Prefetcher[T]":
        self._started = True
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[T]:
        if not self._started:
            raise RuntimeError("enter the Prefetcher (with ...) before iterating it")
        while not isinstance(item := self._buffer.take(), _End):
            if isinstance(item, _Failure):
                raise item.error
            yield item
            del item  # not kept alive while waiting for the next one
        self._finished = True

    def close(self) -> None:
        """Stop the producers and wait for them; each finishes at most the item in hand.

        Unless the consumer took everything (then every producer has ended already, and a
        ``cancel`` shared with a scan that goes on, like the probe's in ``slices``, must stay
        clear), ``cancel`` is set first: a source waiting for quota or a retry ends that wait
        at once instead of holding the join. A request in flight is not cut short; it ends
        within the client's request timeout.

        Closing from a producer thread (the cyclic GC may finalize an abandoned consumer in
        whichever thread it runs) joins the others but not itself, which would raise.
        """
        if self._cancel is not None and not self._finished:
            self._cancel.set()
        self._buffer.stop()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current and thread.is_alive():
                thread.join()


def prefetch(
    source: Iterator[T],
    depth: int = 1,
    *,
    name: str = "prefetch",
    cancel: threading.Event | None = None,
) -> Generator[T, None, None]:
    """``source``'s items, fetched up to ``depth`` ahead in a thread; ``depth=0``: inline.

    Closing early sets ``cancel`` (the source's stop signal) before joining the thread.
    Inline, nothing is set: the source's waits run in the consumer's own thread, where
    signals interrupt them and closing this generator closes the source.
    """
    if depth == 0:
        yield from source
        return
    with Prefetcher([source], depth, name=name, cancel=cancel) as ahead:
        yield from ahead
