"""Settings sized to the data: the eval split, which components run in workers, steps."""

import gzip

import pytest
from apache_beam.options import pipeline_options

from pipeline.definition import config as config_lib
from pipeline.definition import pipeline as pipeline_lib
from pipeline.local import sizing


@pytest.mark.parametrize(
    "rows, buckets",
    [
        (0, (2, 1)),
        (15_002, (2, 1)),
        (150_020, (2, 1)),
        (180_000, (3, 1)),
        (1_500_200, (29, 1)),
    ],
)
def test_split_keeps_the_eval_split_near_its_target_size(rows, buckets):
    assert sizing.split_buckets_for_rows(rows) == buckets
    train, evaluation_buckets = buckets
    eval_rows = rows * evaluation_buckets / (train + evaluation_buckets)
    assert eval_rows <= rows / 3 + 1
    if rows > 3 * sizing.EVAL_ROWS_TARGET:
        assert abs(eval_rows / sizing.EVAL_ROWS_TARGET - 1) < 0.2


def test_count_rows_counts_data_lines_of_every_file(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "b.csv").write_text("x,y\n5,6")  # no final line break
    (tmp_path / "header_only.csv").write_text("x,y\n")
    (tmp_path / "empty.csv").write_text("")
    assert sizing.count_rows(sorted(str(p) for p in tmp_path.iterdir())) == 3


def test_count_rows_reads_gzip_and_counts_an_unreadable_file_as_none(tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"x,y\n1,2\n3,4\n5,6\n"))
    (tmp_path / "broken.csv.gz").write_bytes(b"x,y\n1,2\n")  # not gzip
    assert sizing.count_rows(sorted(str(p) for p in tmp_path.iterdir())) == 3


def test_count_rows_of_the_sample(sample_dir):
    with open(f"{sample_dir}/data.csv") as sample:
        expected = sum(1 for _ in sample) - 1
    assert sizing.count_rows([f"{sample_dir}/data.csv"]) == expected == 2000


EVAL = ["Evaluator"]
WHOLE = ["StatisticsGen", "Transform"]


def _multiprocessing(component_args):
    options = pipeline_options.PipelineOptions(list(component_args))
    direct = options.view_as(pipeline_options.DirectOptions)
    return direct.direct_running_mode, direct.direct_num_workers


def test_small_data_runs_in_process():
    assert sizing.component_beam_args_for_rows(15_002, EVAL, WHOLE) == {}


@pytest.mark.parametrize("rows", [150_020, sizing.MULTIPROCESS_DATA_ROWS - 1])
def test_large_eval_split_evaluates_in_worker_processes(rows):
    args = sizing.component_beam_args_for_rows(rows, EVAL, WHOLE, num_workers=2)
    assert list(args) == EVAL
    assert _multiprocessing(args["Evaluator"]) == ("multi_processing", 2)


@pytest.mark.parametrize("rows", [sizing.MULTIPROCESS_DATA_ROWS, 1_500_200, 15_000_000])
def test_from_half_a_million_rows_statistics_and_transform_run_in_workers_too(rows):
    args = sizing.component_beam_args_for_rows(rows, EVAL, WHOLE, num_workers=2)
    assert sorted(args) == ["Evaluator", "StatisticsGen", "Transform"]
    for component_args in args.values():
        assert _multiprocessing(component_args) == ("multi_processing", 2)


def test_a_component_named_in_both_lists_gets_its_arguments_once():
    args = sizing.component_beam_args_for_rows(1_500_200, EVAL, EVAL + WHOLE)
    assert sorted(args) == ["Evaluator", "StatisticsGen", "Transform"]


def test_pipeline_gives_component_beam_args_to_that_component_only(tmp_path, sample_dir):
    config = config_lib.local_config(
        str(tmp_path),
        sample_dir,
        beam_pipeline_args=("--direct_num_workers=1",),
        component_beam_args=sizing.component_beam_args_for_rows(150_020, EVAL, WHOLE),
    )
    pipeline = pipeline_lib.create_pipeline(config)
    args = {
        c.id: list(c.executor_spec.beam_pipeline_args)
        for c in pipeline.components
        if hasattr(c.executor_spec, "beam_pipeline_args")
    }
    assert args["Evaluator"][-3] == "--direct_running_mode=multi_processing"
    for component_id in ("CsvExampleGen", "StatisticsGen", "Transform"):
        assert not any("multi_processing" in arg for arg in args[component_id])


def test_pipeline_rejects_beam_args_for_a_component_without_beam(tmp_path, sample_dir):
    config = config_lib.local_config(
        str(tmp_path), sample_dir, component_beam_args={"DataGate": ("--x",)}
    )
    with pytest.raises(ValueError, match="DataGate"):
        pipeline_lib.create_pipeline(config)


def test_pipeline_splits_with_the_configured_buckets(tmp_path, sample_dir):
    config = config_lib.local_config(str(tmp_path), sample_dir, split_buckets=(29, 1))
    example_gen = next(
        c for c in pipeline_lib.create_pipeline(config).components if c.id == "CsvExampleGen"
    )
    assert '"hash_buckets": 29' in example_gen.exec_properties["output_config"]


def _data_folder(path, rows):
    path.mkdir()
    (path / "data.csv").write_text("fare\n" + "1\n" * rows)
    return str(path)


def test_local_runner_sizes_a_large_data_folder(tmp_path):
    from pipeline.local import runner as local_runner

    data = _data_folder(tmp_path / "large", 200_000)
    rows, config = local_runner.sized_config(str(tmp_path / "build"), data, "local", train_steps=7)
    assert rows == 200_000
    assert config.split_buckets == (3, 1)
    assert list(config.component_beam_args) == ["Evaluator"]  # ExampleGen has its own workers.
    assert config.train_steps == 7
    # A profile that already runs every component in worker processes adds nothing.
    _, multiprocess = local_runner.sized_config(str(tmp_path / "build"), data, "local-multiprocess")
    assert multiprocess.component_beam_args == {}


def test_local_runner_keeps_defaults_for_small_data(tmp_path, sample_dir):
    from pipeline.local import runner as local_runner

    rows, config = local_runner.sized_config(str(tmp_path / "build"), sample_dir, "local")
    assert rows == 2000
    assert config.split_buckets == (2, 1)
    assert config.component_beam_args == {}


def test_epochs_become_steps_over_the_training_split():
    assert sizing.train_rows(300, (2, 1)) == 200
    assert sizing.steps_for_epochs(300, (2, 1), 32, 30) == 188  # 200 x 30 / 32, rounded up
    assert sizing.steps_for_epochs(300, (2, 1), 32, 0.01) == 1
    assert (
        sizing.steps_for_epochs(1_000_000, sizing.split_buckets_for_rows(1_000_000), 128, 1) == 7422
    )  # 950,000 training rows / 128


def test_local_runner_runs_statistics_and_transform_in_workers_on_half_a_million_rows(tmp_path):
    from pipeline.local import runner as local_runner

    data = _data_folder(tmp_path / "larger", sizing.MULTIPROCESS_DATA_ROWS)
    _, config = local_runner.sized_config(str(tmp_path / "build"), data, "local", train_steps=7)
    assert sorted(config.component_beam_args) == ["Evaluator", "StatisticsGen", "Transform"]


def test_local_runner_trains_taxi_on_every_row_twice(tmp_path):
    from pipeline.definition import families
    from pipeline.local import runner as local_runner

    contract = families.load("taxi").contract
    assert contract.train_epochs == 2
    data = _data_folder(tmp_path / "larger", 600_000)
    rows, config = local_runner.sized_config(str(tmp_path / "build"), data, "local")
    batch_size = contract.hparam_defaults["train_batch_size"]
    trained = config.train_steps * batch_size
    train_rows = sizing.train_rows(rows, config.split_buckets)
    assert 2 * train_rows <= trained < 2 * train_rows + batch_size


def test_pipeline_runs_statistics_and_transform_in_workers_at_scale(tmp_path, sample_dir):
    config = config_lib.local_config(
        str(tmp_path),
        sample_dir,
        component_beam_args=sizing.component_beam_args_for_rows(1_500_200, EVAL, WHOLE),
    )
    multiprocess = {
        c.id
        for c in pipeline_lib.create_pipeline(config).components
        if "--direct_running_mode=multi_processing"
        in list(getattr(c.executor_spec, "beam_pipeline_args", []))
    }
    assert multiprocess == {"Evaluator", "StatisticsGen", "Transform"}
