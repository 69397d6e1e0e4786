"""bench/scale_reference.py: the reference measured in a run's pauses stops the run's processes
while it measures, always resumes them, and pools its rates as the same work over summed time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.scale import equal_speed_speedup, speedups, targets
from bench.scale_reference import PausedReference, fugashi_rate, sample_texts
from bench.scale_run import RunFigures, tree_pids


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def busy_child():
    """A child that spins, with a grandchild that sleeps: a small process tree."""
    code = ("import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "while True: pass\n")
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 10
    while len(tree_pids(child.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield child
    for pid in reversed(tree_pids(child.pid)):
        subprocess.run(["kill", "-9", str(pid)], check=False)
    child.wait()


def test_every_measurement_runs_while_the_whole_tree_is_stopped(busy_child):
    seen: list[list[str]] = []

    def measure() -> float:
        seen.append([_state(pid) for pid in tree_pids(busy_child.pid)])
        time.sleep(0.05)
        return 100.0

    pauses = PausedReference(lambda: tree_pids(busy_child.pid), measure, every=0.1)
    pauses.start()
    deadline = time.monotonic() + 10
    while len(pauses.rates) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    pauses.stop()
    assert len(seen) >= 3 and all(len(states) == 2 for states in seen)
    assert all(state == "T" for states in seen for state in states)  # T: stopped by a signal
    assert pauses.paused_seconds >= 0.05 * len(seen) and pauses.error is None
    time.sleep(0.1)
    assert all(_state(pid) != "T" for pid in tree_pids(busy_child.pid))  # resumed


def test_a_failing_measurement_is_kept_and_the_tree_resumed(busy_child):
    def measure() -> float:
        raise OSError("the reference broke")

    pauses = PausedReference(lambda: tree_pids(busy_child.pid), measure, every=0.05)
    pauses.start()
    pauses.join(timeout=10)
    assert not pauses.is_alive() and isinstance(pauses.error, OSError) and not pauses.rates
    time.sleep(0.1)
    assert all(_state(pid) != "T" for pid in tree_pids(busy_child.pid))


def test_an_ended_tree_ends_the_pauses():
    pauses = PausedReference(lambda: [], lambda: 1.0, every=0.01)
    pauses.start()
    pauses.join(timeout=5)
    assert not pauses.is_alive() and pauses.rates == [] and pauses.paused_seconds == 0


def test_rates_pool_as_the_same_work_over_the_summed_time():
    pauses = PausedReference(lambda: [], lambda: 1.0, every=1)
    assert pauses.pooled_rate() is None
    pauses.rates = [1.0, 3.0]
    assert pauses.pooled_rate() == pytest.approx(1.5)  # 2 units over 1 + 1/3 seconds
    with pytest.raises(ValueError, match="positive"):
        PausedReference(lambda: [], lambda: 1.0, every=0)


def test_sample_and_rate_of_raw_fugashi():
    texts = ["今日は良い天気です。" * 50] * 10 + ["使われない文章"]
    sample = sample_texts(iter(texts), max_chars=2000)
    assert sample == texts[:4]  # 500 characters each: the fourth reaches 2,000
    assert sample_texts([], max_chars=10) == []
    assert fugashi_rate(sample)() > 0


def _run(workers: int, wall: float, rates: list[float]) -> RunFigures:
    return RunFigures(workers=workers, exit_code=0, wall_seconds=wall, cpu_seconds=wall,
                      peak_rss_bytes=1, peak_processes=1, samples=1, load_before=0.0,
                      load_after=0.0, reference_rates=rates)


def test_speed_up_at_equal_machine_speed_scales_each_run_by_its_own_pauses():
    # The machine ran the two-worker run 1.25x faster: 1.5x of wall time is 1.2x of work.
    one, two = _run(1, 150.0, [1.0, 1.0]), _run(2, 100.0, [1.25])
    assert equal_speed_speedup(one, two) == pytest.approx(1.2)
    (found,) = speedups({(150.0, 1): one, (150.0, 2): two}, [150.0], [1, 2])
    assert found["speedup"] == pytest.approx(1.5)
    assert found["equalSpeedSpeedup"] == pytest.approx(1.2)
    assert found["referenceRates"] == [pytest.approx(1.0), pytest.approx(1.25)]
    # Without pauses in both runs there is no equal-speed figure: the wall ratio stands alone.
    assert equal_speed_speedup(one, _run(2, 100.0, [])) is None


def test_the_speed_up_target_is_judged_at_equal_machine_speed_where_measured():
    def verdict(one: RunFigures, two: RunFigures) -> dict:
        runs = {(150.0, 1): one, (150.0, 2): two}
        # `targets` reads only the corpora's sizes.
        goals = targets(dict.fromkeys([150.0]), runs, [], speedups(runs, [150.0], [1, 2]))
        return next(g for g in goals if g["target"] == "speed-up")

    # 1.5x of wall time but 1.65x at equal speed (the machine slowed in the second run): passes.
    slowed = verdict(_run(1, 150.0, [1.1]), _run(2, 100.0, [1.0]))
    assert slowed["passed"] is True
    assert "1.65x at equal machine speed (1.50x in wall time" in slowed["text"]
    # 1.8x of wall time on a machine that sped up by a quarter is 1.44x: fails.
    assert verdict(_run(1, 180.0, [1.0]), _run(2, 100.0, [1.25]))["passed"] is False
    # Runs without pauses are judged by their wall times.
    assert verdict(_run(1, 170.0, []), _run(2, 100.0, []))["passed"] is True
