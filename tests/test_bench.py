"""The benchmark suite's pure parts: scaled data, statistics, timelines, the report."""

import csv
import random

import pytest

from bench import pipeline_runs
from bench import report
from bench import stats
from bench import step_compute
from bench import targets
from bench import timeline
from bench import trainer_split
from bench import training_throughput
from data import make_scaled

HEADER = [
    "trip_start_timestamp",
    "fare",
    "tips",
    "trip_miles",
    "trip_seconds",
    "pickup_latitude",
    "pickup_longitude",
    "payment_type",
    "trip_start_hour",
]
ROWS = [
    ["1400000001", "10.00", "2.50", "3.10", "600", "41.880", "-87.630", "Cash", "5"],
    ["1400000002", "25.50", "0.00", "8.00", "1500", "", "", "Credit Card", "17"],
    ["1400000003", "4.25", "1.00", "0.00", "0", "41.950", "-87.700", "Cash", "23"],
    ["1400000004", "0", "0", "", "", "41.700", "-87.550", "Unknown", "0"],
]


@pytest.fixture
def source_csv(tmp_path):
    path = tmp_path / "source" / "data.csv"
    path.parent.mkdir()
    with open(path, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    return str(path)


def _read(path):
    with open(path, newline="") as csv_file:
        reader = csv.DictReader(csv_file)
        return reader.fieldnames, list(reader)


@pytest.mark.parametrize("factor, expected", [(1, 4), (3, 12), (2.5, 10), (0.5, 2)])
def test_scaled_row_count(source_csv, tmp_path, factor, expected):
    out = tmp_path / "out" / "data.csv"
    assert make_scaled.write_scaled(source_csv, str(out), factor) == expected
    assert len(_read(out)[1]) == expected


def test_scaled_keeps_header_and_leaves_only_the_csv(source_csv, tmp_path):
    out = tmp_path / "out" / "data.csv"
    make_scaled.write_scaled(source_csv, str(out), 2)
    assert _read(out)[0] == HEADER
    assert [p.name for p in out.parent.iterdir()] == ["data.csv"]


def test_scaled_is_deterministic_per_seed(source_csv, tmp_path):
    paths = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        paths[name] = tmp_path / name / "data.csv"
        make_scaled.write_scaled(source_csv, str(paths[name]), 3, seed=seed)
    assert paths["a"].read_bytes() == paths["b"].read_bytes()
    assert paths["a"].read_bytes() != paths["c"].read_bytes()


def test_every_copy_holds_each_source_row_once(source_csv, tmp_path):
    out = tmp_path / "out" / "data.csv"
    make_scaled.write_scaled(source_csv, str(out), 3)
    stamps = [row["trip_start_timestamp"] for row in _read(out)[1]]
    for copy in range(3):
        assert sorted(stamps[copy * 4 : (copy + 1) * 4]) == sorted(r[0] for r in ROWS)


def _splits_by_timestamp(csv_path, out_dir, buckets):
    """Runs ExampleGen's reading on a scaled file; returns {timestamp: set of splits}."""
    import tensorflow as tf

    from components import csv_to_examples

    uris = [str(out_dir / "Split-train"), str(out_dir / "Split-eval")]
    csv_to_examples.write_examples(
        [str(csv_path)], (), (), uris, [buckets[0], sum(buckets)], workers=0
    )
    sides = {}
    for side, uri in zip(("train", "eval"), uris):
        for record in tf.data.TFRecordDataset(tf.io.gfile.glob(uri + "/*"), "GZIP"):
            example = tf.train.Example.FromString(record.numpy())
            stamp = example.features.feature["trip_start_timestamp"].int64_list.value[0]
            sides.setdefault(stamp, set()).add(side)
    return sides


def test_every_copy_of_a_row_lands_in_its_split(source_csv, tmp_path):
    grouped = tmp_path / "grouped" / "data.csv"
    assert make_scaled.write_scaled(source_csv, str(grouped), 30, split_buckets=(2, 1)) == 120
    sides = _splits_by_timestamp(grouped, tmp_path / "grouped-out", (2, 1))
    assert sorted(sides) == [int(row[0]) for row in ROWS]
    assert all(len(split) == 1 for split in sides.values())
    # Without the buckets, 30 noisy copies of a row scatter over both splits.
    scattered = tmp_path / "scattered" / "data.csv"
    make_scaled.write_scaled(source_csv, str(scattered), 30)
    sides = _splits_by_timestamp(scattered, tmp_path / "scattered-out", (2, 1))
    assert all(split == {"train", "eval"} for split in sides.values())


def test_the_split_is_deterministic_per_seed(source_csv, tmp_path):
    paths = [tmp_path / name / "data.csv" for name in ("a", "b")]
    for path in paths:
        make_scaled.write_scaled(source_csv, str(path), 5, seed=3, split_buckets=(29, 1))
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_noise_stays_within_bounds(source_csv, tmp_path):
    out = tmp_path / "out" / "data.csv"
    make_scaled.write_scaled(source_csv, str(out), 50, relative_noise=0.05, coordinate_noise=0.002)
    source = {row[0]: dict(zip(HEADER, row)) for row in ROWS}
    for row in _read(out)[1]:
        original = source[row["trip_start_timestamp"]]
        for column in ("payment_type", "trip_start_hour"):
            assert row[column] == original[column]
        for column in (
            "fare",
            "tips",
            "trip_miles",
            "trip_seconds",
            "pickup_latitude",
            "pickup_longitude",
        ):
            if not original[column]:
                assert row[column] == ""
                continue
            value, base = float(row[column]), float(original[column])
            if column.endswith(("latitude", "longitude")):
                assert abs(value - base) <= 0.002 + 1e-6
            else:  # Relative noise; rounding adds at most half a unit of the last digit.
                assert abs(value - base) <= 0.05 * abs(base) + 0.5 + 1e-9
                assert value >= 0
        # fare and tips share one factor: the tip's share of the fare is kept.
        if float(original["fare"]) > 0:
            share = float(original["tips"]) / float(original["fare"])
            assert float(row["tips"]) / float(row["fare"]) == pytest.approx(share, abs=0.002)


def test_noisy_row_rounds_integer_columns():
    row = make_scaled.noisy_row(dict(zip(HEADER, ROWS[0])), random.Random(0))
    assert row["trip_seconds"].isdigit()


def test_median_and_percentile():
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 2, 3]) == 2.5
    assert stats.median([]) is None
    values = list(range(1, 101))
    assert stats.percentile(values, 50) == pytest.approx(50.5)
    assert stats.percentile(values, 99) == pytest.approx(99.01)
    assert stats.percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        stats.percentile(values, 101)


def test_spread_ignores_missing_values():
    assert stats.spread([2.0, None, 4.0, 3.0]) == {
        "median": 3.0,
        "min": 2.0,
        "max": 4.0,
        "runs": 3,
        "values": [2.0, 4.0, 3.0],
    }


MB = 2**20
LINES = [
    (1.0, "[pipeline] running on /data; detailed log: x.log\n"),
    (2.0, "[pipeline] CsvExampleGen: running\n"),
    (4.0, "[pipeline] CsvExampleGen: done in 2.0s\n"),
    (4.0, "[pipeline] Transform: running\n"),
    (8.0, "[pipeline] Transform: done in 4.0s\n"),
    (8.05, "[pipeline] Pusher: running\n"),
    (8.1, "[pipeline] Pusher: done in 0.0s\n"),
    (8.2, "[pipeline] Trainer: running\n"),
]
# One sample every 0.5 s, from 0.0 s to 9.5 s.
SAMPLES = [
    (i / 2, rss * MB)
    for i, rss in enumerate(
        [
            100,
            150,
            300,
            320,
            310,
            200,
            500,
            900,
            800,
            700,
            650,
            600,
            400,
            450,
            460,
            470,
            480,
            470,
            999,
            100,
        ]
    )
]


def test_component_intervals_from_progress_lines():
    intervals = timeline.component_intervals(LINES)
    assert intervals["CsvExampleGen"] == (2.0, 4.0)
    assert intervals["Transform"] == (4.0, 8.0)
    assert intervals["Trainer"] == (8.2, None)
    assert "running on /data" not in " ".join(intervals)


def test_component_peaks_from_a_synthetic_timeline():
    peaks = timeline.component_peaks(LINES, SAMPLES, run_end=9.2)
    assert peaks["CsvExampleGen"] == 900 * MB  # Samples at 2.0 .. 4.0 s.
    # The 800 MB sample at 4.0 s belongs to both nodes that meet there.
    assert peaks["Transform"] == 800 * MB
    # Shorter than the sampling interval: the sample nearest its middle (8.0 s).
    assert peaks["Pusher"] == 480 * MB
    # No end line: it runs until run_end, so the 999 MB sample at 9.0 s is its.
    assert peaks["Trainer"] == 999 * MB
    assert timeline.overall_peak(SAMPLES) == 999 * MB
    assert timeline.overall_peak([]) is None


def test_merge_states_adds_peak_megabytes():
    merged = timeline.merge_states(
        [
            {"id": "Transform", "state": "executed", "seconds": 4.0},
            {"id": "SchemaGen", "state": "cached", "seconds": 0.0},
        ],
        {"Transform": 512 * MB},
    )
    assert merged[0]["peak_rss_mb"] == 512.0
    assert merged[1]["peak_rss_mb"] is None


def test_time_ratios_between_scales():
    runs = [
        {"scale": 10, "rows": 1000, "wall_seconds": 50.0, "returncode": 0},
        {"scale": 1, "rows": 100, "wall_seconds": 40.0, "returncode": 0},
        {"scale": 100, "rows": 10000, "wall_seconds": 400.0, "returncode": 0},
    ]
    assert pipeline_runs.time_ratios(runs) == [
        {"from": 1, "to": 10, "rows_ratio": 10.0, "time_ratio": 1.25},
        {"from": 10, "to": 100, "rows_ratio": 10.0, "time_ratio": 8.0},
    ]


def _spread(value):
    return stats.spread([value])


def test_targets_and_markdown_report():
    machine = {
        "cores_logical": 2,
        "memory_gb": 24,
        "cpu_model": "Test CPU",
        "load_average_1m": 0.1,
        "measured_at": "2026-01-01T00:00:00",
    }
    component = {
        "id": "Transform",
        "states": ["executed"],
        "seconds": _spread(40.0),
        "peak_rss_mb": _spread(900.0),
    }
    run_figures = {
        "runs": 1,
        "wall_seconds": _spread(65.0),
        "peak_rss_mb": _spread(1000.0),
        "kernel_peak_rss_mb": _spread(800.0),
        "auc": _spread(0.94),
        "components": [component],
    }
    sections = {
        "pipeline": {
            "machine": machine,
            "data": "data/taxi",
            "rows": 15002,
            "cold": run_figures,
            "warm": {**run_figures, "wall_seconds": _spread(9.0)},
        },
        "serving": {
            "machine": machine,
            "model_dir": "m",
            "csv": "c.csv",
            "rounds": [{}],
            "single_calls_per_round": 10,
            "batch_calls_per_round": 2,
            "load_seconds": 1.0,
            "median": {
                "p50_ms": 6.0,
                "p99_ms": 9.0,
                "batch_examples_per_second": {"100": 1e4, "1000": 2e4},
            },
        },
    }
    rows = {row["target"]: row for row in targets.evaluate(sections)}
    assert rows["cold run under 70 s"]["met"] is True
    assert rows["eval AUC >= 0.93"]["met"] is True
    assert rows["p50 under 5 ms"]["met"] is False
    assert rows["taxi: Estimator >= 1 x Keras examples/s (steady state)"]["met"] is None

    markdown = report.render_markdown(
        {
            "generated_at": "now",
            "command": "python -m bench",
            "sections": sections,
            "targets": list(rows.values()),
        }
    )
    assert "| pipeline | cold run under 70 s | 65.0 s (median) | met |" in markdown
    assert "| serving | p50 under 5 ms | 6.00 ms | **missed** |" in markdown
    assert "not measured" in markdown
    assert "2 cores, 24 GB, Test CPU" in markdown
    assert "| Transform | 40.0 | 900 | 40.0 | 900 | executed |" in markdown
    assert "## Training throughput" not in markdown


def test_scale_report_and_targets_put_1x_and_100x_side_by_side():
    machine = {
        "cores_logical": 2,
        "memory_gb": 24,
        "cpu_model": "Test CPU",
        "load_average_1m": 0.1,
        "measured_at": "2026-01-01T00:00:00",
    }

    def run(scale, rows, eval_examples, wall, evaluator_seconds, auc, peak):
        return {
            "scale": scale,
            "rows": rows,
            "eval_examples": eval_examples,
            "wall_seconds": wall,
            "peak_rss_mb": peak,
            "kernel_peak_rss_mb": 900.0,
            "seconds_per_1k_rows": wall / rows * 1000,
            "auc": auc,
            "returncode": 0,
            "read_floor": {
                "seconds": 0.5,
                "text_one_thread_seconds": 1.5,
                "rows": rows,
                "bytes": rows * 120,
                "threads": 2,
                "pyarrow": "10.0.1",
            },
            "components": [
                {"id": "CsvExampleGen", "seconds": wall / 20, "peak_rss_mb": 700.0},
                {"id": "Evaluator", "seconds": evaluator_seconds, "peak_rss_mb": peak},
                {"id": "Pusher", "seconds": 0.1, "peak_rss_mb": 300.0},
            ],
        }

    runs = [
        run(1, 15_000, 5_000.0, 80.0, 20.0, 0.95, 1000.0),
        run(100, 1_500_000, 50_000.0, 900.0, 95.0, 0.94, 5000.0),
    ]
    section = {
        "machine": machine,
        "source": "taxi.csv",
        "runs": runs,
        "time_ratios": pipeline_runs.time_ratios(runs),
    }
    rows = {row["target"]: row for row in targets.evaluate({"scale": section})}
    assert rows["time(100x) <= 4 x time(1x)"]["met"] is False
    assert rows["time(100x) <= 4 x time(1x)"]["measured"] == (
        "11.25 x (most over its share: CsvExampleGen (45 s at 100x, 11 x its 1x))"
    )
    assert rows["100x peak memory at most 4 GB"]["measured"] == (
        "4.88 GB (during Evaluator, 4.88 GB)"
    )
    assert rows["100x peak memory at most 4 GB"]["met"] is False
    assert rows["AUC(100x) >= AUC(1x)"]["met"] is False
    assert rows["AUC(100x) >= AUC(1x)"]["measured"] == "0.9400 against 0.9500"
    markdown = report.render_markdown(
        {
            "generated_at": "now",
            "command": "python -m bench",
            "sections": {"scale": section},
            "targets": list(rows.values()),
        }
    )
    assert "| 100x | 1,500,000 | 50,000 | – | – | 900.0 |" in markdown
    assert "| component | 1x s | 1x peak MB | 100x s | 100x peak MB | time 100x / 1x |" in markdown
    assert "| Evaluator | 20.0 | 1,000 | 95.0 | 5,000 | 4.8 |" in markdown
    assert "| CsvExampleGen | 4.0 | 700 | 45.0 | 700 | 11.2 |" in markdown
    assert "| Pusher |" not in markdown  # under 1 s at every scale
    assert (
        "100x: pyarrow 10.0.1 reads the CSV (172 MB, 1,500,000 rows) in 0.50 s with its "
        "own types on 2 threads, 1.50 s as text on one thread; CsvExampleGen took 45.0 s, "
        "90 x the floor."
    ) in markdown
    # The breakdown names the components beyond their share, the largest excess first.
    assert markdown.index("- **CsvExampleGen**: 45.0 s at 100x") < markdown.index(
        "- **Evaluator**: 95.0 s at 100x"
    )
    assert "Peak memory at 100x was reached during Evaluator, 4.88 GB." in markdown


def _steps(start, seconds_per_step, count):
    """End times of `count` steps of equal length, the first beginning at `start`."""
    return [start + seconds_per_step * (i + 1) for i in range(count)]


def test_windows_cut_the_warm_up_and_close_after_the_window_length():
    # 0.5 s per step from t=100: steps end at 100.5, 101.0, ...; the warm-up ends at 102.
    ends = _steps(100.0, 0.5, 30)
    windows = training_throughput.steady_windows(
        ends, 100.0, batch_size=10, warmup_seconds=2.0, window_seconds=3.0
    )
    # The first window begins at the end of the step ending at 102.0 (the 4th).
    assert [w["begins_at"] for w in windows] == [2.0, 5.0, 8.0, 11.0]
    assert all(w["steps"] == 6 and w["seconds"] == pytest.approx(3.0) for w in windows)
    assert windows[0]["examples_per_second"] == pytest.approx(20.0)
    # 30 steps end at 115.0: a fifth window would end at 117.0, so it is left out.
    assert len(windows) == 4


def test_a_slow_step_makes_its_window_longer_and_slower():
    ends = _steps(0.0, 1.0, 5) + [9.0] + _steps(9.0, 1.0, 10)  # The 6th step takes 4 s.
    windows = training_throughput.steady_windows(
        ends, 0.0, batch_size=1, warmup_seconds=0.0, window_seconds=3.0
    )
    # Window 1: 1.0 -> 4.0; window 2: 4.0 -> 9.0 (two steps in 5 s); window 3: 9.0 -> 12.0.
    assert [(w["steps"], w["seconds"]) for w in windows][:3] == [(3, 3.0), (2, 5.0), (3, 3.0)]
    assert windows[1]["examples_per_second"] == pytest.approx(0.4)


def test_no_window_when_training_is_shorter_than_warm_up_and_window():
    ends = _steps(0.0, 0.1, 50)  # 5 s of training.
    assert training_throughput.steady_windows(ends, 0.0, 64, 3.0, 10.0) == []
    assert training_throughput.steady_windows(ends, 0.0, 64, 6.0, 1.0) == []
    assert training_throughput.steady_windows([], 0.0, 64) == []
    with pytest.raises(ValueError):
        training_throughput.steady_windows(ends, 0.0, 64, 1.0, 0.0)


@pytest.mark.parametrize(
    "repeats, expected",
    [
        (1, ["estimator", "keras"]),
        (2, ["estimator", "keras", "keras", "estimator"]),
        (3, ["estimator", "keras", "keras", "estimator", "estimator", "keras"]),
    ],
)
def test_runs_are_interleaved_abba(repeats, expected):
    assert training_throughput.interleaved_order(("estimator", "keras"), repeats) == expected


def _windows(*rates):
    return [{"examples_per_second": rate} for rate in rates]


def test_window_summary_pools_the_windows_and_keeps_each_run_median():
    summary = training_throughput.window_summary([_windows(10, 30, 20), _windows(40, 50)])
    assert summary["median"] == 30
    assert (summary["min"], summary["max"], summary["windows"]) == (10, 50, 5)
    assert (summary["p25"], summary["p75"]) == (20, 40)
    assert summary["run_medians"] == [20, 45]


def test_ratio_of_medians_and_of_paired_runs():
    estimator = training_throughput.window_summary([_windows(30, 30), _windows(60)])
    keras = training_throughput.window_summary([_windows(20), _windows(40, 40)])
    ratio = training_throughput.ratio_summary(estimator, keras)
    assert ratio["median_ratio"] == pytest.approx(30 / 40)  # Medians of 30, 30, 60 and 20, 40, 40.
    assert ratio["paired"]["values"] == [1.5, 1.5]
    empty = training_throughput.window_summary([[]])
    assert training_throughput.ratio_summary(empty, keras)["median_ratio"] is None


def test_ratio_interval_holds_the_ratio_and_narrows_with_more_windows():
    rng = random.Random(7)
    few = [1000 * rng.uniform(0.9, 1.1) for _ in range(6)]
    many = [1000 * rng.uniform(0.9, 1.1) for _ in range(60)]
    low, high = stats.ratio_of_medians_interval(few, few[::-1])
    assert low < 1.0 < high
    assert stats.ratio_of_medians_interval(few, few[::-1]) == (low, high)  # Seeded.
    wide_low, wide_high = stats.ratio_of_medians_interval(few, [v * 0.8 for v in few])
    narrow_low, narrow_high = stats.ratio_of_medians_interval(many, [v * 0.8 for v in many])
    assert wide_low <= 1.25 <= wide_high and narrow_low <= 1.25 <= narrow_high
    assert narrow_high - narrow_low < wide_high - wide_low
    assert stats.ratio_of_medians_interval([1000.0], many) is None


@pytest.mark.parametrize(
    "estimator_rates, keras_rates, met",
    [
        ((1300, 1310, 1320, 1330, 1340), (1000, 1010, 1020, 1030, 1040), True),
        ((800, 810, 820, 830, 840), (1000, 1010, 1020, 1030, 1040), False),
        ((900, 1100, 1000, 950, 1050), (1000, 1040, 960, 1010, 990), targets.UNRESOLVED),
    ],
)
def test_training_target_is_met_or_missed_only_when_the_interval_says_so(
    estimator_rates, keras_rates, met
):
    ratio = training_throughput.ratio_summary(
        training_throughput.window_summary([_windows(*estimator_rates)]),
        training_throughput.window_summary([_windows(*keras_rates)]),
    )
    section = {
        "ratio_estimator_to_keras": ratio["median_ratio"],
        "ratio_interval": ratio["interval"],
    }
    (row,) = [
        r for r in targets.evaluate({"training": section}, "taxi") if r["section"] == "training"
    ]
    assert row["met"] == met
    assert "90% interval" in row["measured"]


def test_step_microseconds():
    assert training_throughput.step_microseconds(64_000.0, 128) == pytest.approx(2000.0)
    assert training_throughput.step_microseconds(None, 128) is None


def test_training_target_and_report_show_the_windows_spread():
    machine = {
        "cores_logical": 2,
        "memory_gb": 24,
        "cpu_model": "Test CPU",
        "load_average_1m": 0.5,
        "measured_at": "2026-01-01T00:00:00",
    }
    runs = {
        "estimator": [_windows(1000, 1100), _windows(1200, 900)],
        "keras": [_windows(1000, 1000), _windows(1100, 1000)],
    }
    modes = {mode: training_throughput.window_summary(windows) for mode, windows in runs.items()}
    for figures in modes.values():
        figures["step_microseconds"] = training_throughput.step_microseconds(figures["median"], 64)
    ratio = training_throughput.ratio_summary(modes["estimator"], modes["keras"])
    section = {
        "machine": machine,
        "model": "reviews",
        "batch_size": 64,
        "warmup_seconds": 5.0,
        "window_seconds": 10.0,
        "windows_per_run": 2,
        "order": ["estimator", "keras", "keras", "estimator"],
        "modes": modes,
        "ratio_estimator_to_keras": ratio["median_ratio"],
        "ratio_interval": ratio["interval"],
        "ratio_paired_runs": ratio["paired"],
        "run_records": {mode: [{"load_average_1m": 0.5}] * 2 for mode in runs},
    }
    (row,) = [
        r for r in targets.evaluate({"training": section}, "reviews") if r["section"] == "training"
    ]
    assert row["target"] == "reviews: Estimator >= 1 x Keras examples/s (steady state)"
    # 1,050 against 1,000, but four windows a side cannot tell the two apart.
    assert row["measured"].startswith("1.05 x (90% interval ")
    assert row["met"] == targets.UNRESOLVED
    markdown = report.render_markdown(
        {
            "generated_at": "now",
            "command": "python -m bench",
            "sections": {"training": section},
            "targets": [row],
        }
    )
    assert (
        "| Keras `model.fit` | 1,000 | 1,000 to 1,025 | 1,000 to 1,100 | 64,000 | 4 "
        "| 1,000, 1,050 |"
    ) in markdown
    assert "| 1,050 | 975 to 1,125 | 900 to 1,200 |" in markdown
    assert "runs paired in order: 1.00 to 1.05" in markdown
    low, high = ratio["interval"]["low"], ratio["interval"]["high"]
    assert (
        f"**1.05** (90% bootstrap interval over the windows: {low:.2f} to {high:.2f})" in markdown
    )
    assert "| not resolved: the interval holds both sides |" in markdown
    assert "fewer windows" not in markdown
    assert "Trainer component" not in markdown

    seconds = {phase: 0.5 for phase in trainer_split.PHASES}
    seconds.update({"training": 1.0, "start_up": 2.0})
    section["trainer_split"] = {
        "train_steps": 300,
        "median_seconds": seconds,
        "median_total_seconds": 5.0,
        "evaluations_during_training": [0],
        "runs": [{}],
    }
    markdown = report.render_markdown(
        {
            "generated_at": "now",
            "command": "python -m bench",
            "sections": {"training": section},
            "targets": [row],
        }
    )
    assert "Trainer component at 300 steps" in markdown
    assert (
        "| start-up (training graph, session, warm start, first checkpoint) | 2.00 | **yes** |"
    ) in markdown
    assert "| training | 1.00 |  |" in markdown
    assert "| serving export | 0.50 |  |" in markdown


def test_trainer_split_subtracts_evaluations_during_training():
    events = {
        "began": 0.0,
        "built": 2.0,
        "first_step": 5.0,
        "last_step": 65.0,
        "saves": [4.5, 15.0, 25.0, 66.0],
        "evaluations": [(15.0, 18.0)],
        "export": (70.0, 71.5),
        "returned": 71.75,
        "eval_savedmodel": (72.0, 73.0),
    }
    assert trainer_split.phase_split(events) == pytest.approx(
        {
            "build": 2.0,
            "start_up": 3.0,
            "training": 57.0,
            "evaluation_during_training": 3.0,
            "final_checkpoint": 1.0,
            "final_evaluation": 4.0,
            "serving_export": 1.5,
            "training_session_close": 0.25,
            "eval_savedmodel_export": 1.0,
        }
    )
    assert set(trainer_split.PHASES) == set(trainer_split.phase_split(events))


def test_step_compute_summary_and_its_report_line():
    rates = {"estimator_op": [1400.0, 1450.0, 1500.0], "keras_function": [1300.0, 1350.0, 1400.0]}
    step = {
        "blocks": 3,
        "block_seconds": 5.0,
        "op_executions_per_step": 53345,
        **step_compute.summarize(rates, 64),
    }
    assert step["ratio"] == pytest.approx(1450 / 1350)
    assert step["modes"]["estimator_op"]["step_microseconds"] == pytest.approx(64 / 1450 * 1e6)
    assert step["interval"]["low"] <= step["ratio"] <= step["interval"]["high"]
    estimator_path = {"step_microseconds": 46_000.0}
    text = "\n".join(report._step_compute(step, estimator_path))
    assert "1,450 examples/s (44,138 us a step, 53,345 op executions)" in text
    assert "Keras' train function 1,350 (47,407 us); ratio **1.07**" in text
    assert f"less this: {46_000 - 64 / 1450 * 1e6:,.0f} us a step" in text
    assert report._step_compute(None, estimator_path) == []


def test_a_family_that_is_not_binary_is_judged_on_its_blessing_metric():
    """penguins, taxi_fare: no AUC; the target is the task's metric within its bound."""
    blessing = {
        "metric": "root_mean_squared_error",
        "direction": "lower",
        "bound": 7.0,
        "max_change": 0.5,
        "value": 3.4,
        "baseline_value": None,
    }
    runs = [
        {
            "wall_seconds": 30.0,
            "peak_rss_mb": 900.0,
            "kernel_peak_rss_mb": 800.0,
            "auc": None,
            "blessing": {**blessing, "value": value},
            "returncode": 0,
            "components": [],
        }
        for value in (3.4, 3.2, 3.6)
    ]
    cold = pipeline_runs.aggregate(runs)
    assert cold["blessing"]["value"]["median"] == pytest.approx(3.4)
    rows = targets.evaluate({"pipeline": {"cold": cold}}, model="taxi_fare")
    (quality,) = [r for r in rows if "root_mean_squared_error" in r["target"]]
    assert quality["target"] == "eval root_mean_squared_error <= 7 (the family's bound)"
    assert quality["met"] is True and quality["measured"] == "3.4000"
    worse = pipeline_runs.aggregate([{**runs[0], "blessing": {**blessing, "value": 9.1}}])
    (missed,) = [
        r
        for r in targets.evaluate({"pipeline": {"cold": worse}}, model="taxi_fare")
        if "root_mean_squared_error" in r["target"]
    ]
    assert missed["met"] is False
    assert not any("AUC" in r["target"] for r in rows if r["section"] == "pipeline")
