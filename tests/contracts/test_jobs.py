"""Every JobRunner runs registered jobs with their arguments, now or after a delay."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from kefu.core.bus import InProcessBus
from kefu.core.jobs import REGISTRY, InProcessRunner, JobContext, job, run_job

CALLS: list[tuple[str, Any]] = []


@job("tests.record")
async def record(ctx: JobContext, value: Any) -> Any:
    CALLS.append(("record", value))
    return value


async def test_in_process_runner_runs_now_and_later() -> None:
    runner = InProcessRunner(run_periodic=False)
    await runner.start(JobContext(None, InProcessBus(), None))  # type: ignore[arg-type]
    token = uuid.uuid4().hex
    await runner.enqueue("tests.record", value=token + "-now")
    await runner.enqueue("tests.record", delay_s=0.3, value=token + "-later")
    await asyncio.sleep(0.1)
    assert ("record", token + "-now") in CALLS and ("record", token + "-later") not in CALLS
    await asyncio.sleep(0.4)
    assert ("record", token + "-later") in CALLS
    await runner.stop()


async def test_unknown_job_is_refused() -> None:
    runner = InProcessRunner(run_periodic=False)
    with pytest.raises(KeyError, match="unknown job 'nope'"):
        await runner.enqueue("nope")
    with pytest.raises(KeyError):
        await run_job(JobContext(None, InProcessBus(), None), "nope", {})  # type: ignore[arg-type]


def test_registered_jobs_include_conversation_jobs() -> None:
    from kefu.core.jobs import PERIODIC
    from kefu.main import register_jobs

    register_jobs()
    assert {"conversations.wake", "conversations.wake_due", "conversations.auto_resolve"} <= set(REGISTRY)
    assert PERIODIC["conversations.wake_due"].every_s == 30
