"""StatisticsGen's options: larger batches, no sampling, the same statistics."""

import json

import apache_beam as beam
import pyarrow as pa
import pytest
import tensorflow_data_validation as tfdv

from components import statistics
from pipeline.definition import config as config_lib
from pipeline.definition import pipeline as pipeline_lib


def test_options_batch_ten_thousand_examples_and_sample_nothing():
    options = statistics.stats_options()
    assert options.desired_batch_size == statistics.DESIRED_BATCH_SIZE == 10_000
    assert options.sample_rate is None
    again = tfdv.StatsOptions.from_json(options.to_json())
    assert (again.desired_batch_size, again.sample_rate) == (10_000, None)


def test_options_refuse_an_empty_batch():
    with pytest.raises(ValueError, match="desired_batch_size must be at least 1, got 0"):
        statistics.stats_options(0)


def test_the_pipeline_statistics_gen_carries_the_options(tmp_path, sample_dir):
    config = config_lib.local_config(str(tmp_path), sample_dir)
    statistics_gen = next(
        c for c in pipeline_lib.create_pipeline(config).components if c.id == "StatisticsGen"
    )
    options = json.loads(statistics_gen.exec_properties["stats_options_json"])
    assert options["_desired_batch_size"] == 10_000
    assert options["_sample_rate"] is None


def _batches(rows: int, batch_rows: int):
    """Record batches of a float column with every seventh cell empty, and a string one."""
    batches = []
    for start in range(0, rows, batch_rows):
        indices = range(start, min(rows, start + batch_rows))
        batches.append(
            pa.RecordBatch.from_arrays(
                [
                    pa.array(
                        [[] if i % 7 == 0 else [i * 0.5] for i in indices], pa.list_(pa.float32())
                    ),
                    pa.array(
                        [[b"cash" if i % 3 else b"card"] for i in indices], pa.list_(pa.binary())
                    ),
                ],
                ["fare", "payment_type"],
            )
        )
    return batches


def _statistics(batches, options, path):
    """TFDV's statistics of `batches` with `options`, through Beam, as StatisticsGen runs it."""
    with beam.Pipeline() as pipeline:
        _ = (
            pipeline
            | beam.Create(batches, reshuffle=False)
            | tfdv.GenerateStatistics(options)
            | tfdv.WriteStatisticsToBinaryFile(str(path))
        )
    return tfdv.load_stats_binary(str(path))


def _facts(stats_list):
    dataset = stats_list.datasets[0]
    facts = {"examples": dataset.num_examples}
    for feature in dataset.features:
        common = (
            feature.num_stats.common_stats
            if feature.HasField("num_stats")
            else feature.string_stats.common_stats
        )
        facts[feature.path.step[0]] = (common.num_non_missing, common.tot_num_values)
        if feature.HasField("num_stats"):
            facts["fare_mean"] = round(feature.num_stats.mean, 6)
    return facts


def test_batched_statistics_count_every_example_and_every_empty_cell(tmp_path):
    batches = _batches(2_345, 100)
    default = _facts(_statistics(batches, statistics.stats_options(1_000), tmp_path / "a.pb"))
    larger = _facts(_statistics(batches, statistics.stats_options(), tmp_path / "b.pb"))
    assert larger == default
    assert larger["examples"] == 2_345
    # An empty cell is an empty list: present, with no value.
    empty = sum(1 for i in range(2_345) if i % 7 == 0)
    assert larger["fare"] == (2_345, 2_345 - empty)
    assert larger["payment_type"] == (2_345, 2_345)


def test_the_batch_bench_counts_every_example_at_each_size(tmp_path):
    import gzip

    import tensorflow as tf

    from bench import statistics_batch

    split = tmp_path / "Split-train"
    split.mkdir()
    for part in range(2):
        with tf.io.TFRecordWriter(
            str(split / f"data_tfrecord-{part}-of-2.gz"), options="GZIP"
        ) as writer:
            for i in range(150):
                example = tf.train.Example()
                example.features.feature["fare"].float_list.value.append(i * 0.5)
                writer.write(example.SerializeToString())
    (split / "not-a-record.txt").write_bytes(gzip.compress(b"ignored"))
    result = statistics_batch.interleaved(str(split), [7, 1000], rounds=2)
    for size in ("7", "1000"):
        assert result["by_batch_size"][size]["examples"] == [300]
        assert len(result["by_batch_size"][size]["runs"]) == 2
    with pytest.raises(FileNotFoundError, match="no gzipped TFRecord files in"):
        statistics_batch.statistics_once(str(tmp_path), 10)
