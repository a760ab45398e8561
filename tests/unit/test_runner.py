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


def test_checks_with_optional_evidence_run_on_what_there_is() -> None:
    from maildoctor import catalogue
    from maildoctor.checks import Check, CheckContext, apply

    seen: list[tuple[object, ...]] = []

    def rule(ctx: object, a: object, b: object) -> list[object]:
        seen.append((a, b))
        return []

    chk = Check("x.rule", (), frozenset(), rule, optional=("a", "b"))
    ctx = CheckContext(Settings(), catalogue.load())
    apply([chk], {"a": 1}, ctx)
    failure = ProbeFailure("b", "internal", "boom")
    _, not_checked = apply([chk], {"a": 1, "b": failure}, ctx)
    apply([chk], {"c": 3}, ctx)  # none of its evidence planned: not run
    _, not_checked_all = apply([chk], {"a": failure}, ctx)  # nothing usable: not run
    assert seen == [(1, None), (1, None)]
    assert [n.what for n in not_checked] == ["x.rule"] and "boom" in not_checked[0].reason
    assert [n.what for n in not_checked_all] == ["x.rule"]
