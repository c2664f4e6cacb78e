"""Every EventBus implementation passes the same contract."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator

import pytest

from kefu.core.bus import EventBus, InProcessBus, RedisBus


@pytest.fixture(params=["inprocess", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    b: EventBus
    if request.param == "inprocess":
        b = InProcessBus()
    else:
        b = RedisBus(request.getfixturevalue("redis_url"), prefix=f"kefu-bus-{uuid.uuid4().hex[:6]}:")
    await b.start()
    yield b
    await b.stop()


async def _settle(bus: EventBus) -> None:
    if isinstance(bus, RedisBus):
        await asyncio.sleep(0.1)  # SUBSCRIBE is acknowledged asynchronously by Redis


async def test_subscriber_gets_messages_of_its_topics_in_order(bus: EventBus) -> None:
    sub = await bus.subscribe("account:1", "contact:9")
    await _settle(bus)
    await bus.publish("account:1", {"n": 1, "text": "你好"})
    await bus.publish("account:2", {"n": 2})
    await bus.publish("contact:9", {"n": 3})
    got = [await sub.get(2), await sub.get(2)]
    assert got == [{"n": 1, "text": "你好"}, {"n": 3}]
    assert await sub.get(0.2) is None
    await sub.close()


async def test_every_subscriber_of_a_topic_gets_each_message(bus: EventBus) -> None:
    a = await bus.subscribe("t")
    b = await bus.subscribe("t")
    await _settle(bus)
    await bus.publish("t", {"x": [1, 2]})
    assert await a.get(2) == {"x": [1, 2]}
    assert await b.get(2) == {"x": [1, 2]}
    await a.close()
    await bus.publish("t", {"x": 3})
    assert await b.get(2) == {"x": 3}
    await b.close()


async def test_closed_subscription_receives_nothing(bus: EventBus) -> None:
    sub = await bus.subscribe("gone")
    await sub.close()
    keep = await bus.subscribe("gone")
    await _settle(bus)
    await bus.publish("gone", {"y": 1})
    assert await keep.get(2) == {"y": 1}
    assert await sub.get(0.2) is None
    await keep.close()


async def test_values_round_trip_as_json(bus: EventBus) -> None:
    sub = await bus.subscribe("j")
    await _settle(bus)
    await bus.publish("j", {"a": None, "b": True, "c": 1.5, "d": {"e": ["f"]}})
    assert await sub.get(2) == {"a": None, "b": True, "c": 1.5, "d": {"e": ["f"]}}
    await sub.close()


async def test_publish_many_delivers_each_pair_in_order(bus: EventBus) -> None:
    a = await bus.subscribe("account:3")
    c = await bus.subscribe("contact:4")
    await _settle(bus)
    await bus.publish_many([("account:3", {"n": 1}), ("contact:4", {"n": 1}), ("account:3", {"n": 2}), ("x", {"n": 9})])
    await bus.publish_many([])
    assert [await a.get(2), await a.get(2)] == [{"n": 1}, {"n": 2}]
    assert await c.get(2) == {"n": 1}
    assert await a.get(0.2) is None
    await a.close()
    await c.close()


async def test_redis_bus_fans_out_between_two_nodes(redis_url: str) -> None:
    prefix = f"kefu-bus-{uuid.uuid4().hex[:6]}:"
    node_a, node_b = RedisBus(redis_url, prefix), RedisBus(redis_url, prefix)
    await node_a.start()
    await node_b.start()
    sub = await node_b.subscribe("account:7")
    await asyncio.sleep(0.1)
    await node_a.publish("account:7", {"from": "a"})
    assert await sub.get(2) == {"from": "a"}
    await sub.close()
    await node_a.stop()
    await node_b.stop()


class _CountingTopics(dict):  # type: ignore[type-arg]
    """The fan-out's topic table, counting the topics a removal visits."""

    visited = 0

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        type(self).visited += 1
        return super().get(key, default)

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a removal must not walk every topic of the process")


async def test_closing_a_subscription_visits_only_its_own_topics() -> None:
    from kefu.core import bus as bus_module

    fanout = bus_module._Fanout()
    subs = [bus_module._QueueSubscription(None) for _ in range(1000)]
    for i, sub in enumerate(subs):
        assert fanout.add(sub, ("account:1", f"contact:{i}")) == (
            ["account:1", "contact:0"] if i == 0 else [f"contact:{i}"]
        )
    counting = _CountingTopics(fanout.subs)
    fanout.subs = counting  # type: ignore[assignment]
    assert sorted(fanout.remove(subs[5])) == ["contact:5"]
    assert _CountingTopics.visited == 2  # its two topics, not the 1,001 of the process
    assert fanout.remove(subs[5]) == []  # twice is harmless
    for sub in subs[:5] + subs[6:-1]:
        fanout.remove(sub)
    assert sorted(fanout.remove(subs[-1])) == ["account:1", "contact:999"]
    assert dict(counting) == {} and fanout.topics_of == {}


async def test_a_listener_is_called_with_each_message_of_its_topics_until_closed(bus: EventBus) -> None:
    heard: list[dict[str, object]] = []
    listening = await bus.listen(heard.append, "contact:5", "account:9")
    queued = await bus.subscribe("contact:5")
    await _settle(bus)
    await bus.publish_many([("contact:5", {"n": 1}), ("account:8", {"n": 2}), ("account:9", {"n": 3})])
    assert await queued.get(2) == {"n": 1}
    for _ in range(50):
        if len(heard) == 2:
            break
        await asyncio.sleep(0.02)
    assert heard == [{"n": 1}, {"n": 3}]
    await listening.close()
    await listening.close()  # twice is harmless
    await bus.publish("contact:5", {"n": 4})
    assert await queued.get(2) == {"n": 4}  # the queued subscription of the same topic still hears it
    assert heard == [{"n": 1}, {"n": 3}]
    await queued.close()


async def test_a_failing_listener_does_not_keep_a_message_from_the_others(bus: EventBus) -> None:
    def broken(message: dict[str, object]) -> None:
        raise RuntimeError("consumer bug")

    await bus.listen(broken, "t2")
    sub = await bus.subscribe("t2")
    await _settle(bus)
    await bus.publish("t2", {"ok": True})
    assert await sub.get(2) == {"ok": True}
    await sub.close()


def test_a_subscription_that_hears_nothing_has_no_queue() -> None:
    from kefu.core import bus as bus_module

    sub = bus_module._QueueSubscription(None)
    assert sub._queue is None
    sub.deliver({"n": 1})
    assert sub._queue is not None and sub._queue.qsize() == 1


async def test_redis_going_down_never_breaks_a_subscriber_closing(
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """A socket that ends while Redis is down closes its subscription without an error (the fan-out
    forgets it; Redis is told when it can be), and a new one fails cleanly, leaving nothing behind."""
    url, proc = own_redis
    bus = RedisBus(url, prefix="kefu-down:")
    await bus.start()
    try:
        heard: list[dict[str, object]] = []
        listening = await bus.listen(heard.append, "contact:1")
        proc.terminate()
        proc.wait(timeout=10)
        await listening.close()  # no exception
        assert bus._fanout.subs == {} and bus._fanout.topics_of == {}
        with pytest.raises(Exception):  # noqa: B017 - whichever error the client raises for a dead server
            await bus.listen(heard.append, "contact:2")
        assert bus._fanout.subs == {} and bus._fanout.topics_of == {}
    finally:
        with contextlib.suppress(Exception):
            await bus.stop()
