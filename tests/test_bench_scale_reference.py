"""bench/scale_reference.py: the reference measured in a run's pauses stops the run's processes
while it measures, always resumes them, and pools its rates as the same work over summed time."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.scale import equal_speed_speedup, speedups, targets
from bench.scale_reference import PausedReference, fugashi_rate, pool_rates, sample_texts
from bench.scale_run import RunFigures, tree_pids

REPO = Path(__file__).resolve().parents[1]


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
    assert pool_rates([1.0, 3.0]) == pytest.approx(1.5)  # 2 units over 1 + 1/3 seconds
    assert pool_rates([2.0]) == pytest.approx(2.0)
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



_INTERRUPTED_HARNESS = """
import signal, sys, time
from pathlib import Path
from bench.scale import _exit_on_sigterm
from bench.scale_run import run_onboard

def slow_reference():
    time.sleep(3)  # long enough for the signal to land while the tree is stopped
    return 1.0

signal.signal(signal.SIGTERM, _exit_on_sigterm)  # as bench.scale's main does
folder, work = Path(sys.argv[1]), Path(sys.argv[2])
run_onboard(folder, work / "run", 1, 0.2, False, work, reference=slow_reference,
            reference_every=0.5)
"""


def _state_or_gone(pid: int) -> str:
    try:
        return _state(pid)
    except OSError:
        return "gone"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_harness_leaves_no_run_behind_stopped_or_running(tmp_path, signum):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "part-000.jsonl").write_text(
        "".join(json.dumps({"text": f"第{i}章 倉庫の在庫を数える手順を説明します。" * 20},
                           ensure_ascii=False) + "\n" for i in range(20)), encoding="utf-8")
    harness = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_HARNESS, str(corpus),
                                str(tmp_path / "work")], cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        stopped: list[int] = []
        while not stopped and time.monotonic() < deadline and harness.poll() is None:
            time.sleep(0.1)
            stopped = [pid for pid in tree_pids(harness.pid)[1:] if _state_or_gone(pid) == "T"]
        assert stopped, "the run was never paused"
        harness.send_signal(signum)
        harness.wait(timeout=60)
        time.sleep(0.5)
        left = [pid for pid in stopped if _state_or_gone(pid) not in ("gone", "Z")]
        assert left == [], "the interrupted harness left its run behind"
    finally:
        for pid in reversed(tree_pids(harness.pid)):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        harness.wait()
