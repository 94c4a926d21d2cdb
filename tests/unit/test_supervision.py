"""The runner's supervision of its side tasks (completer, listener), on a real event loop: a
task that dies is restarted and no claims are made while it is down; one that keeps dying
stops the process, which then exits with status 1."""

from __future__ import annotations

import asyncio

import pytest

from hookline.runner import MAX_RESTARTS, Runner, Settings


def supervise(dies: int) -> tuple[Runner, int, bool]:
    """Supervise a listener that dies `dies` times, then runs to its end. Returns the runner,
    how often it ran, and whether the listener was ever seen down (claims held back)."""

    async def main() -> tuple[Runner, int, bool]:
        runner = Runner(Settings(dsn="", name="t"))
        runs = 0
        seen_down = False

        async def listener() -> None:
            nonlocal runs
            runs += 1
            if runs <= dies:
                raise RuntimeError("boom")

        async def watch() -> None:
            nonlocal seen_down
            while True:
                seen_down |= "listener" in runner.down
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        await runner._supervise("listener", listener)
        watcher.cancel()
        return runner, runs, seen_down

    return asyncio.run(main())


def test_a_side_task_that_dies_is_restarted_and_claims_wait_meanwhile() -> None:
    runner, runs, seen_down = supervise(dies=2)
    assert runs == 3
    assert runner.stats.restarts == {"listener": 2}
    assert seen_down, "the claim loop saw the listener down"
    assert runner.down == set() and not runner.failed and not runner.stopping.is_set()


@pytest.mark.slow
def test_a_side_task_that_keeps_dying_stops_the_process_with_a_failure() -> None:
    runner, runs, _ = supervise(dies=100)
    assert runs == MAX_RESTARTS
    assert runner.failed, "the process exits with status 1"
    assert runner.stopping.is_set(), "claims stop"
