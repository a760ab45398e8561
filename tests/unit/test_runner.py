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


async def test_plan_runs_dependencies_first_and_skips_after_failure() -> None:
    from maildoctor.probes import ProbeSpec, closure

    order: list[str] = []

    async def base(ctx: object) -> int:
        await asyncio.sleep(0.05)
        order.append("base")
        return 41

    async def child(ctx: object, value: int) -> int:
        order.append("child")
        return value + 1

    async def broken(ctx: object) -> int:
        raise RuntimeError("down")

    async def orphan(ctx: object, value: int) -> int:
        return value

    specs = {
        "base": ProbeSpec("base", (), base),
        "child": ProbeSpec("child", ("base",), child),
        "broken": ProbeSpec("broken", (), broken),
        "orphan": ProbeSpec("orphan", ("broken",), orphan),
    }
    plan = closure(["child", "orphan", "nonexistent"], specs)
    assert plan == ["base", "child", "broken", "orphan"]
    runner = Runner(Settings())
    out = await runner.run_plan(plan, specs, runner.context("example.com"))
    assert out["child"] == 42 and order == ["base", "child"]
    assert isinstance(out["orphan"], ProbeFailure) and out["orphan"].kind == "skipped"
    assert "broken: RuntimeError: down" in out["orphan"].detail


def test_closure_rejects_cycles() -> None:
    import pytest

    from maildoctor.probes import ProbeSpec, closure

    async def f(ctx: object, *a: object) -> None:
        return None

    specs = {"a": ProbeSpec("a", ("b",), f), "b": ProbeSpec("b", ("a",), f)}
    with pytest.raises(ValueError, match="cycle"):
        closure(["a"], specs)
