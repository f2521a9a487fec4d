"""The bench's scale report: fixed and per-row cost, why a target is missed, the plot."""

import pytest

from bench import pipeline_runs
from bench import report
from bench import scale_plot
from bench import scale_report
from bench import targets

MACHINE = {
    "cores_logical": 2,
    "memory_gb": 24,
    "cpu_model": "Test CPU",
    "load_average_1m": 0.1,
    "measured_at": "2026-01-01T00:00:00",
}


def _run(scale, rows, transform_seconds, trainer_seconds, wall, returncode=0):
    """A scale run whose Transform costs `transform_seconds` and Trainer `trainer_seconds`."""
    return {
        "scale": scale,
        "rows": rows,
        "eval_examples": rows / 30,
        "trained_examples": rows * 2,
        "epochs": 2.0,
        "wall_seconds": wall,
        "peak_rss_mb": 1000.0 + rows / 1000,
        "kernel_peak_rss_mb": 900.0,
        "seconds_per_1k_rows": wall / rows * 1000,
        "auc": 0.95,
        "returncode": returncode,
        "components": [
            {"id": "Transform", "seconds": transform_seconds, "peak_rss_mb": 800.0},
            {"id": "Trainer", "seconds": trainer_seconds, "peak_rss_mb": 900.0},
            {"id": "Pusher", "seconds": 0.2 if scale == 1 else 0.9, "peak_rss_mb": 300.0},
        ],
    }


@pytest.mark.parametrize(
    "fixed, per_row_us",
    [(10.0, 100.0), (25.0, 3.0), (0.0, 50.0)],
)
def test_cost_split_recovers_a_straight_line(fixed, per_row_us):
    small, big = 15_000, 1_500_000
    split = scale_report.cost_split(
        fixed + per_row_us * small / 1e6, small, fixed + per_row_us * big / 1e6, big
    )
    assert split["fixed_seconds"] == pytest.approx(fixed)
    assert split["us_per_row"] == pytest.approx(per_row_us)


def test_cost_split_keeps_noise_within_bounds():
    # Faster at 100x than at 1x: no per-row cost, all fixed.
    assert scale_report.cost_split(30.0, 1_000, 20.0, 100_000) == {
        "fixed_seconds": 30.0,
        "us_per_row": 0.0,
    }
    # Steeper than the origin allows: the fixed part stays at 0, not below.
    assert scale_report.cost_split(1.0, 1_000, 1_000.0, 100_000)["fixed_seconds"] == 0.0
    with pytest.raises(ValueError, match="more rows: 1,000 against 1,000"):
        scale_report.cost_split(1.0, 1_000, 2.0, 1_000)


def _section(runs):
    return {
        "machine": MACHINE,
        "source": "taxi.csv",
        "runs": runs,
        "time_ratios": pipeline_runs.time_ratios(runs),
        "plot": "build/bench/taxi/scale.png",
    }


def test_the_breakdown_says_why_the_time_target_is_missed():
    # Transform: 20 s fixed + 100 us a row; the Trainer: 10 s fixed + 2 us a row.
    small = _run(1, 10_000, 21.0, 10.02, 40.0)
    big = _run(100, 1_000_000, 120.0, 12.0, 150.0)
    lines = "\n".join(scale_report.breakdown(small, big))
    assert "time(100x) / time(1x) = 3.75, within 4; the components beyond" in lines
    assert "is lost" not in lines
    big = _run(100, 1_000_000, 120.0, 12.0, 180.0)
    lines = "\n".join(scale_report.breakdown(small, big))
    assert "Where time(100x) <= 4 x time(1x) is lost (measured 4.50 x)" in lines
    assert (
        "- **Transform**: 120.0 s at 100x against 21.0 s at 1x (5.7 x for 100 x the rows), "
        "36.0 s beyond 4 x its 1x time. Why: 100 us a row, 100.0 s of work on the rows at "
        "100x, against a fixed 20.0 s."
    ) in lines
    assert "**Trainer**" not in lines  # within its share
    assert "**Pusher**" not in lines  # under a second beyond it
    assert (
        "The 1x run took 40.0 s: 30.2 s of it the components' fixed costs (each "
        "component's line through its two times, at 0 rows) and 8.8 s outside the "
        "components (the runner's start-up, imports, ML Metadata; 47.1 s at 100x). The "
        "target allows 160.0 s at 100x, so about 120.0 s for the work on 990,000 more "
        "rows; the 100x run spent 140.0 s on them."
    ) in lines


def test_the_scale_section_shows_trained_examples_epochs_and_the_plot():
    runs = [_run(1, 10_000, 21.0, 10.02, 40.0), _run(100, 1_000_000, 120.0, 12.0, 180.0)]
    section = _section(runs)
    markdown = report.render_markdown(
        {
            "generated_at": "now",
            "command": "python -m bench",
            "sections": {"scale": section},
            "targets": targets.evaluate({"scale": section}),
        }
    )
    assert "| scale | rows | eval examples | trained examples | epochs | wall s |" in markdown
    assert "| 100x | 1,000,000 | 33,333 | 2,000,000 | 2.0 | 180.0 |" in markdown
    assert "Seconds per component against rows: `build/bench/taxi/scale.png`." in markdown
    assert "| Transform | 21.0 | 800 | 120.0 | 800 | 5.7 |" in markdown


def test_plot_series_take_finished_runs_by_rows_and_leave_out_tiny_components():
    runs = [
        _run(100, 1_000_000, 120.0, 12.0, 180.0),
        _run(1, 10_000, 21.0, 10.0, 40.0),
        _run(10, 100_000, 30.0, 10.2, 55.0, returncode=1),
    ]
    series = scale_plot.component_series(runs)
    assert list(series) == ["whole run", "Transform", "Trainer"]
    assert series["Transform"] == [(10_000, 21.0), (1_000_000, 120.0)]
    assert series["whole run"] == [(10_000, 40.0), (1_000_000, 180.0)]


def test_plot_is_a_png_and_needs_two_finished_runs(tmp_path):
    runs = [
        _run(1, 10_000, 21.0, 10.0, 40.0),
        _run(10, 100_000, 30.0, 10.2, 55.0),
        _run(100, 1_000_000, 120.0, 12.0, 180.0),
    ]
    path = scale_plot.write(runs, str(tmp_path / "plots" / "scale.png"), "test")
    with open(path, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="needs two finished runs, got 1"):
        scale_plot.write(runs[:1], str(tmp_path / "one.png"), "test")
