"""An in-process broadcast: every subscriber gets every item published after it subscribed.

A subscriber that falls too far behind is dropped (its iterator ends) rather than slowing the
publisher; a watcher reconnects and starts from a fresh snapshot. With Redis configured the
router's buses are SharedBus: every replica's subscribers see every replica's items.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from novamesh.common.redisstore import PubSub

LOG = logging.getLogger(__name__)

T = TypeVar("T")

_CLOSED = object()


class Subscription(Generic[T]):
    def __init__(self, bus: Bus[T], accept: Callable[[T], bool], depth: int) -> None:
        self._bus = bus
        self._accept = accept
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)

    def offer(self, item: T) -> None:
        if not self._accept(item):
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._bus.unsubscribe(self)
            self.close()

    def close(self) -> None:
        while True:
            try:
                self._queue.put_nowait(_CLOSED)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    async def __aiter__(self) -> AsyncIterator[T]:
        try:
            while True:
                item = await self._queue.get()
                if item is _CLOSED:
                    return
                yield item  # type: ignore[misc]
        finally:
            self._bus.unsubscribe(self)


class Bus(Generic[T]):
    def __init__(self, depth: int = 10_000) -> None:
        self._subs: set[Subscription[T]] = set()
        self._depth = depth

    def subscribe(self, accept: Callable[[T], bool] = lambda _: True) -> Subscription[T]:
        sub = Subscription(self, accept, self._depth)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription[T]) -> None:
        self._subs.discard(sub)

    def publish(self, item: T) -> None:
        for sub in list(self._subs):
            sub.offer(item)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
        self._subs.clear()

    def __len__(self) -> int:
        return len(self._subs)


class SharedBus(Bus[T]):
    """A bus shared by every router replica through the store's publish/subscribe.

    publish() sends to the channel; `relay()` (one task per process) hands whatever arrives on
    it, ours included, to the local subscribers, so each of them sees every item once whichever
    replica published it.
    """

    def __init__(
        self,
        pubsub: PubSub,
        channel: str,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
        depth: int = 10_000,
    ) -> None:
        super().__init__(depth)
        self._pubsub = pubsub
        self._channel = channel
        self._encode = encode
        self._decode = decode
        self._sends: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()

    def publish(self, item: T) -> None:
        task = asyncio.get_running_loop().create_task(
            self._pubsub.publish(self._channel, self._encode(item))
        )
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
        task.add_done_callback(_quiet)

    async def relay(self) -> None:
        stream = self._pubsub.subscribe(self._channel)
        try:
            first = asyncio.ensure_future(anext(stream))
            # The subscription is in place once the generator runs up to its first wait.
            await asyncio.sleep(0.05)
            self.listening.set()
            super().publish(self._decode(await first))
            async for payload in stream:
                super().publish(self._decode(payload))
        finally:
            await stream.aclose()

    def __len__(self) -> int:
        # Another replica may have subscribers: always publish.
        return max(super().__len__(), 1)


def _quiet(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        LOG.warning("cannot publish on the shared bus: %s", task.exception())
