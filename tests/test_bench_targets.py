"""make bench's verdicts (bench/run.py): targets on this machine and scaled to the issue's box,
and flat memory judged after the workers' warm-up."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def calibrate():
    return _load("bench_calibrate", BENCH / "calibrate.py")


@pytest.fixture(scope="module")
def bench():
    return _load("bench_run", BENCH / "run.py")


def _page(bench, name, *, p50=1.0, p95=1.0, clients=1, ratio=None, floor=None):
    run = bench.Run(clients, 100, 100.0, p50, p95, p95, 0)
    return bench.PageResult(name, f"/{name}", False, 0, [run], ratio, floor)


def test_time_targets_scale_with_the_machine_and_ratios_do_not(bench):
    """Measured while the floor served twice the reference box's: a 30 ms p95 counts as 60 ms
    there; each page is scaled by its own floor; the share of the floor is the same on any
    machine."""
    pages = [
        _page(bench, "search_rare", p95=30.0, floor=2000.0),
        _page(bench, "search_common", p95=25.0, floor=2000.0),
        _page(bench, "no_sql", ratio=0.9, floor=1000.0),
    ]
    here = {what: (held, shown) for what, held, shown in bench.check_targets(pages, None)}
    there = {
        what: (held, shown)
        for what, held, shown in bench.check_targets(pages, None, reference=1000.0)
    }
    assert here["search p95 <= 40 ms"] == (True, "search_rare 30.0, search_common 25.0")
    assert there["search p95 <= 40 ms"] == (False, "search_rare 60.0, search_common 50.0")
    assert (
        here["page without SQL >= 80% of the floor"]
        == there["page without SQL >= 80% of the floor"]
    )


def test_memory_growth_is_judged_on_the_second_half_of_the_mixed_run(bench):
    """Warm-up growth in the first half is not a leak; growth in the second half is."""
    warm = {
        "seconds": 300,
        "rss_mb_samples": [(0, [70.0, 70.0]), (150, [80.0, 79.0]), (270, [80.5, 79.5])],
        "rss_mb": {"start": [70.0, 70.0], "end": [81.0, 79.6]},
    }
    leaking = {**warm, "rss_mb": {"start": [70.0, 70.0], "end": [88.0, 79.6]}}
    assert bench.second_half_growth(warm) == 1.0
    assert bench.second_half_growth(leaking) == 8.0
    mixed = {"p50_ms": 3.0, "p95_ms": 15.0, "failures": 0}
    rows = {what: held for what, held, _ in bench.check_targets([], {**mixed, **warm})}
    memory = next(what for what in rows if what.startswith("memory"))
    assert rows[memory] is True
    rows = {what: held for what, held, _ in bench.check_targets([], {**mixed, **leaking})}
    assert rows[memory] is False


def test_a_calibration_factor_scales_every_time_alike_whatever_the_floor(bench):
    """Calibrated on the issue's own code, the machine's factor applies to every page's times,
    the mixed run's too; the floor measured next to each page no longer matters."""
    pages = [
        _page(bench, "search_rare", p95=30.0, floor=3000.0),
        _page(bench, "search_common", p95=25.0, floor=1000.0),
    ]
    mixed = {"p50_ms": 10.0, "p95_ms": 40.0, "failures": 0}
    rows = {
        what: (held, shown)
        for what, held, shown in bench.check_targets(pages, mixed, reference=990.0, factor=1.5)
    }
    assert rows["search p95 <= 40 ms"] == (False, "search_rare 45.0, search_common 37.5")
    assert rows["mixed 50 users p50 <= 15, p95 <= 45 ms, no errors"] == (
        False,
        "p50 15.0, p95 60.0, failures 0",
    )


def test_the_machine_factor_is_the_median_of_the_issues_pages(calibrate):
    """Each page: the issue's p50 over this machine's for the same code; the median of those
    is the machine's factor, so one odd page can't swing it. Pages the issue gave no single
    time for are left out."""
    found = calibrate.machine_factor({"home": 10.0, "listing": 20.0, "filters": 40.0, "x": 1.0})
    assert {name: page["factor"] for name, page in found["pages"].items()} == {
        "home": round(calibrate.REFERENCE_P50_MS["home"] / 10.0, 3),
        "listing": round(calibrate.REFERENCE_P50_MS["listing"] / 20.0, 3),
        "filters": round(calibrate.REFERENCE_P50_MS["filters"] / 40.0, 3),
    }
    assert found["factor"] == sorted(p["factor"] for p in found["pages"].values())[1]
    assert calibrate.machine_factor({})["factor"] is None
