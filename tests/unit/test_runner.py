import asyncio

from maildoctor.evidence import ProbeFailure
from maildoctor.net.limits import Limits
from maildoctor.probes.runner import Runner
from maildoctor.settings import Settings


async def test_probes_run_concurrently_and_are_timed() -> None:
    runner = Runner(Settings())

    async def nap() -> str:
        await asyncio.sleep(0.2)
        return "done"

    loop = asyncio.get_running_loop()
    start = loop.time()
    results = await runner.gather({f"p{i}": nap for i in range(5)})
    assert loop.time() - start < 0.6  # about the slowest probe, not the sum (1 s)
    assert set(results.values()) == {"done"}
    assert all(t >= 0.19 for t in runner.timings.values())


async def test_deadline_and_bugs_become_probe_failures() -> None:
    runner = Runner(Settings(deadline=0.2))

    async def forever() -> None:
        await asyncio.sleep(30)

    async def broken() -> None:
        raise KeyError("oops")

    results = await runner.gather({"slow": forever, "bug": broken})
    assert results["slow"] == ProbeFailure(
        "slow", "deadline", "stopped at the run's deadline (0.2 s)"
    )
    assert isinstance(results["bug"], ProbeFailure) and results["bug"].kind == "internal"
    assert "KeyError" in results["bug"].detail
    late = await runner.run("late", forever)
    assert isinstance(late, ProbeFailure) and late.kind == "deadline"


async def test_limits_bound_total_and_per_host() -> None:
    limits = Limits(max_connections=3, per_host=2)
    seen: dict[str, int] = {}
    open_by_host: dict[str, int] = {}

    async def use(host: str) -> None:
        async with limits.slot(host):
            open_by_host[host] = open_by_host.get(host, 0) + 1
            seen[host] = max(seen.get(host, 0), open_by_host[host])
            await asyncio.sleep(0.02)
            open_by_host[host] -= 1

    await asyncio.gather(*(use(h) for h in ["a"] * 6 + ["b"] * 6 + ["c"] * 6))
    assert limits.peak == 3
    assert max(seen.values()) == 2
    assert limits.open == 0
