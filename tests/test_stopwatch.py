"""The stopwatch behind a report's "Time" line: exclusive stages that add up to the whole."""

from __future__ import annotations

from reportgen.stopwatch import Stopwatch


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nested_stages_count_each_second_once_for_the_innermost():
    clock = FakeClock()
    watch = Stopwatch(clock)
    with watch.stage("integrated-gradients"):
        clock.now += 10
    with watch.stage("flip-test"):
        clock.now += 2
        with watch.stage("integrated-gradients"):  # one more attribution the flip test needs
            clock.now += 5
        clock.now += 3
    with watch.stage("aopc-bounds"):
        clock.now += 7
    assert watch.seconds == {"integrated-gradients": 15, "flip-test": 5, "aopc-bounds": 7}
    assert sum(watch.seconds.values()) == clock.now


def test_a_failing_stage_still_counts_and_unwinds():
    clock = FakeClock()
    watch = Stopwatch(clock)
    try:
        with watch.stage("outer"):
            clock.now += 1
            with watch.stage("inner"):
                clock.now += 4
                raise RuntimeError("stop")
    except RuntimeError:
        pass
    clock.now += 100  # nothing runs: charged to no stage
    with watch.stage("next"):
        clock.now += 2
    assert watch.seconds == {"outer": 1, "inner": 4, "next": 2}


def test_the_header_states_the_time_of_each_stage_and_old_files_have_none():
    from reportgen.rendering.pieces import duration, time_line

    assert [duration(s) for s in (0.42, 12.4, 252, 3725)] == ["0.4 s", "12 s", "4 min 12 s", "1 h 2 min"]
    # as run: the metrics between the methods; as shown: each method, then what serves them all
    line = time_line({"prediction": 1.5, "integrated-gradients": 250.0, "faithfulness-metrics": 20.0,
                      "attention-gradient": 2.0, "flip-test": 30.0, "aopc-bounds": 100.0})
    assert line == ("6 min 44 s of computation: prediction 1.5 s, integrated gradients 4 min 10 s, gradient-weighted "
                    "attention 2.0 s, faithfulness metrics 20 s, flip test 30 s, normalised-AOPC bounds 1 min 40 s")
