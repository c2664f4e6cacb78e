"""The realtime event bus: publish a JSON-able dict on a topic; subscribers on every node receive it.

Two implementations pass the same contract tests (tests/contracts/test_bus.py):
- `InProcessBus` — embedded mode, one process;
- `RedisBus` — scale-out mode, Redis pub/sub fans events out between `kefu serve` nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

Payload = dict[str, Any]
log = logging.getLogger(__name__)


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Payload]: ...

    async def get(self, timeout: float | None = None) -> Payload | None: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, message: Payload) -> None: ...

    async def publish_many(self, items: list[tuple[str, Payload]]) -> None:
        """Publish several (topic, message) pairs in order — one round trip on Redis."""
        ...

    async def subscribe(self, *topics: str) -> Subscription: ...

    async def listen(self, deliver: Callable[[Payload], None], *topics: str) -> Listening:
        """Call `deliver(message)` for each message on `topics` — synchronously, in the task that hands the
        message to this process: it must not block (queue the message and return)."""
        ...


class Listening(Protocol):
    """A callback subscription (`EventBus.listen`): close it to stop the calls."""

    async def close(self) -> None: ...


Deliver = Callable[[Payload], None]


class _QueueSubscription:
    """Messages delivered into a bounded asyncio queue (made on the first message or read, so a
    subscription that never hears anything costs no queue); a slow consumer loses its oldest messages."""

    __slots__ = ("_on_close", "_queue", "closed", "maxsize")

    def __init__(self, on_close: Any, maxsize: int = 1000) -> None:
        self._queue: asyncio.Queue[Payload] | None = None
        self._on_close = on_close
        self.maxsize = maxsize
        self.closed = False

    @property
    def queue(self) -> asyncio.Queue[Payload]:
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self.maxsize)
        return self._queue

    def deliver(self, message: Payload) -> None:
        queue = self.queue
        if queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        queue.put_nowait(message)

    async def get(self, timeout: float | None = None) -> Payload | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def __aiter__(self) -> AsyncIterator[Payload]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Payload]:
        while not self.closed:
            yield await self.queue.get()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._on_close(self)


class _Listening:
    """A subscription that calls `deliver(message)` in the publisher's task (no queue, no task of its own):
    for a consumer that only hands the message on, such as a socket with its own outbox."""

    __slots__ = ("_on_close", "closed", "deliver")

    def __init__(self, deliver: Deliver, on_close: Any) -> None:
        self.deliver = deliver
        self._on_close = on_close
        self.closed = False

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._on_close(self)


_Sub = _QueueSubscription | _Listening


class _Fanout:
    """topic → local subscriptions; shared by both buses for delivery inside one process. Each
    subscription's own topics are kept too, so removing one touches only those (a mass disconnect of N
    sockets costs O(N · their topics), not O(N · every topic of the process))."""

    def __init__(self) -> None:
        self.subs: dict[str, set[_Sub]] = defaultdict(set)
        self.topics_of: dict[_Sub, tuple[str, ...]] = {}

    def add(self, sub: _Sub, topics: tuple[str, ...]) -> list[str]:
        new = [t for t in topics if not self.subs.get(t)]
        for t in topics:
            self.subs[t].add(sub)
        self.topics_of[sub] = tuple(dict.fromkeys(self.topics_of.get(sub, ()) + topics))
        return new

    def remove(self, sub: _Sub) -> list[str]:
        gone = []
        for topic in self.topics_of.pop(sub, ()):
            subs = self.subs.get(topic)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                del self.subs[topic]
                gone.append(topic)
        return gone

    def deliver(self, topic: str, message: Payload) -> None:
        for sub in list(self.subs.get(topic, ())):
            try:
                sub.deliver(message)
            except Exception:  # one failing consumer must not keep the message from the others
                log.exception("delivering a %s event on %s failed", message.get("type"), topic)


class InProcessBus:
    def __init__(self) -> None:
        self._fanout = _Fanout()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, topic: str, message: Payload) -> None:
        # Round-trip through JSON so both buses hand subscribers the same thing.
        self._fanout.deliver(topic, json.loads(json.dumps(message, default=str)))

    async def publish_many(self, items: list[tuple[str, Payload]]) -> None:
        for topic, message in items:
            await self.publish(topic, message)

    async def subscribe(self, *topics: str) -> Subscription:
        async def on_close(sub: _Sub) -> None:
            self._fanout.remove(sub)

        sub = _QueueSubscription(on_close)
        self._fanout.add(sub, topics)
        return sub

    async def listen(self, deliver: Deliver, *topics: str) -> Listening:
        async def on_close(sub: _Sub) -> None:
            self._fanout.remove(sub)

        sub = _Listening(deliver, on_close)
        self._fanout.add(sub, topics)
        return sub


class RedisBus:
    """Redis pub/sub: one connection per node listens to the topics its local subscribers need."""

    def __init__(self, url: str, prefix: str = "kefu:") -> None:
        self.url = url
        self.prefix = prefix
        self._fanout = _Fanout()
        self._redis: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.url, decode_responses=True)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # A placeholder subscription keeps the pubsub connection readable before any socket joins.
        await self._pubsub.subscribe(self.prefix + "__node__")
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, topic: str, message: Payload) -> None:
        await self._redis.publish(self.prefix + topic, json.dumps(message, default=str))

    async def publish_many(self, items: list[tuple[str, Payload]]) -> None:
        if not items:
            return
        pipe = self._redis.pipeline(transaction=False)
        for topic, message in items:
            pipe.publish(self.prefix + topic, json.dumps(message, default=str))
        await pipe.execute()

    async def subscribe(self, *topics: str) -> Subscription:
        sub = _QueueSubscription(self._remove)
        await self._add(sub, topics)
        return sub

    async def listen(self, deliver: Deliver, *topics: str) -> Listening:
        sub = _Listening(deliver, self._remove)
        await self._add(sub, topics)
        return sub

    async def _add(self, sub: _Sub, topics: tuple[str, ...]) -> None:
        async with self._lock:
            new = self._fanout.add(sub, topics)
            if new:
                try:
                    await self._pubsub.subscribe(*[self.prefix + t for t in new])
                except BaseException:  # Redis is down: nothing half-registered stays behind
                    self._fanout.remove(sub)
                    raise

    async def _remove(self, sub: _Sub) -> None:
        async with self._lock:
            gone = self._fanout.remove(sub)
            if gone:
                try:
                    await self._pubsub.unsubscribe(*[self.prefix + t for t in gone])
                except Exception as exc:  # Redis is down: the channel stays subscribed, and unheard locally
                    log.warning("unsubscribing %d topic(s) from Redis failed: %s", len(gone), exc)

    async def _read(self) -> None:
        while True:
            try:
                msg = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # connection hiccup: wait, the client reconnects
                await asyncio.sleep(0.5)
                continue
            if msg and msg.get("type") == "message":
                topic = msg["channel"][len(self.prefix) :]
                self._fanout.deliver(topic, json.loads(msg["data"]))


def make_bus(redis_url: str | None, prefix: str = "kefu:") -> EventBus:
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()
