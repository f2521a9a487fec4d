"""Each component's configuration, and the pipeline's wiring, asserted as data."""

import dataclasses
import json
import os
import shutil

import pytest
import tensorflow_model_analysis as tfma
from tfx.components.trainer import executor as estimator_trainer_executor

from components import evaluation
from components import example_gen
from components import pusher
from modules.taxi import contract as features
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import pipeline as pipeline_lib


@pytest.fixture
def config(tmp_path, sample_dir):
    return config_lib.local_config(str(tmp_path), sample_dir, train_steps=123)


def test_split_is_a_two_to_one_hash_split():
    splits = example_gen.split_config().split_config.splits
    assert [(s.name, s.hash_buckets) for s in splits] == [("train", 2), ("eval", 1)]


def test_push_destination_is_the_serving_folder(tmp_path):
    destination = pusher.push_destination(str(tmp_path / "serving"))
    assert destination.filesystem.base_directory == str(tmp_path / "serving")


def _eval_config(bound=0.9, max_change=0.01):
    contract = features.CONTRACT
    return evaluation.eval_config(
        metrics_specs=contract.task.with_blessing(bound, max_change).metrics_specs(),
        slice_columns=contract.slice_columns,
        prediction_key=contract.prediction_key,
    )


def test_eval_config_compares_candidate_with_baseline_eval_savedmodels():
    config = _eval_config()
    specs = {spec.name: spec for spec in config.model_specs}
    assert set(specs) == {evaluation.CANDIDATE, evaluation.BASELINE}
    assert all(spec.signature_name == "eval" for spec in specs.values())
    assert specs[evaluation.BASELINE].is_baseline
    assert not specs[evaluation.CANDIDATE].is_baseline


def test_eval_config_slices_overall_by_hour_and_by_payment_type():
    config = _eval_config()
    assert [list(spec.feature_keys) for spec in config.slicing_specs] == [
        [],
        ["trip_start_hour"],
        ["payment_type"],
    ]
    metric_names = [m.class_name for m in config.metrics_specs[0].metrics]
    assert {"ExampleCount", "AUC", "BinaryAccuracy", "Calibration"} <= set(metric_names)


def test_auc_thresholds_judge_the_overall_slice_only():
    config = _eval_config(bound=0.87, max_change=0.02)
    (auc,) = [m for m in config.metrics_specs[0].metrics if m.class_name == "AUC"]
    assert not auc.HasField("threshold")
    (per_slice,) = auc.per_slice_thresholds
    assert list(per_slice.slicing_specs) == [tfma.SlicingSpec()]
    threshold = per_slice.threshold
    assert threshold.value_threshold.lower_bound.value == pytest.approx(0.87)
    assert threshold.change_threshold.absolute.value == pytest.approx(-0.02)
    assert threshold.change_threshold.direction == tfma.MetricDirection.HIGHER_IS_BETTER


def test_pipeline_wires_every_component(config):
    pipeline = pipeline_lib.create_pipeline(config)
    upstream = {c.id: {u.id for u in c.upstream_nodes} for c in pipeline.components}
    assert upstream == {
        "CsvExampleGen": set(),
        "StatisticsGen": {"CsvExampleGen"},
        "SchemaGen": {"StatisticsGen"},
        "CuratedSchema": set(),
        "ExampleValidator": {"StatisticsGen", "CuratedSchema"},
        "DataGate": {"ExampleValidator"},
        "Transform": {"CsvExampleGen", "CuratedSchema", "DataGate"},
        "LatestTunedHyperparametersResolver": set(),
        "Trainer": {"Transform", "CuratedSchema", "LatestTunedHyperparametersResolver"},
        "LatestBlessedModelResolver": set(),
        "Evaluator": {"CsvExampleGen", "Trainer", "LatestBlessedModelResolver"},
        "Pusher": {"Trainer", "Evaluator"},
    }
    # The RunReport step is the page of a Kubeflow run; a local run renders its page
    # once, from ML Metadata, after the run.
    with_report = pipeline_lib.create_pipeline(dataclasses.replace(config, report_step=True))
    (report,) = [c for c in with_report.components if c.id == "RunReport"]
    assert {u.id for u in report.upstream_nodes} == {
        "CsvExampleGen",
        "StatisticsGen",
        "ExampleValidator",
        "LatestTunedHyperparametersResolver",
        "Trainer",
        "Evaluator",
        "Pusher",
    }
    assert report.inputs["hyperparameters"].producer_component_id == (
        "LatestTunedHyperparametersResolver"
    )


def test_data_gate_blocks_the_default_anomaly_kinds(config):
    pipeline = pipeline_lib.create_pipeline(config)
    gate = next(c for c in pipeline.components if c.id == "DataGate")
    kinds = json.loads(gate.exec_properties["blocking_kinds"])
    assert {"SCHEMA_MISSING_COLUMN", "FLOAT_TYPE_BIG_FLOAT", "FEATURE_TYPE_NOT_PRESENT"} <= set(
        kinds
    )
    assert "ENUM_TYPE_UNEXPECTED_STRING_VALUES" not in kinds


def test_data_gate_rejects_unknown_anomaly_kinds(config):
    bad = dataclasses.replace(config, blocking_anomalies=("FARE_TOO_HIGH",))
    with pytest.raises(ValueError, match="FARE_TOO_HIGH"):
        pipeline_lib.create_pipeline(bad)


def test_force_push_is_off_unless_asked(config):
    pusher_of = lambda cfg: next(  # noqa: E731
        c for c in pipeline_lib.create_pipeline(cfg).components if c.id == "Pusher"
    )
    assert json.loads(pusher_of(config).exec_properties["custom_config"]) == {"force_push": False}
    forced = dataclasses.replace(config, force_push=True)
    assert json.loads(pusher_of(forced).exec_properties["custom_config"]) == {"force_push": True}


def test_trainer_runs_the_estimator_executor_with_configured_steps(config):
    pipeline = pipeline_lib.create_pipeline(config)
    trainer = next(c for c in pipeline.components if c.id == "Trainer")
    assert trainer.executor_spec.executor_class is estimator_trainer_executor.Executor
    assert '"num_steps": 123' in trainer.exec_properties["train_args"]
    assert (
        trainer.exec_properties["trainer_fn"]
        == config.trainer_fn
        == ("modules.common.entry.trainer_fn")
    )
    # The family's functions are imported where the components run: nothing is
    # packaged when the pipeline is built.
    assert not trainer.exec_properties.get("module_file")


def test_evaluator_takes_its_baseline_from_the_latest_blessed_model(config):
    pipeline = pipeline_lib.create_pipeline(config)
    evaluator = next(c for c in pipeline.components if c.id == "Evaluator")
    assert evaluator.inputs["baseline_model"].producer_component_id == (
        "LatestBlessedModelResolver"
    )
    pusher_component = next(c for c in pipeline.components if c.id == "Pusher")
    assert pusher_component.inputs["model_blessing"].producer_component_id == "Evaluator"


def test_the_label_is_never_a_model_input():
    assert features.LABEL_KEY not in features.MODEL_INPUT_KEYS
    assert len(set(features.MODEL_INPUT_KEYS)) == len(features.MODEL_INPUT_KEYS)
    for key in features.SLICE_FEATURES:
        assert not key.endswith("_xf"), "slices are on raw columns"


@pytest.mark.parametrize(
    "override, message",
    [
        ({"train_steps": 0}, "train_steps"),
        ({"eval_steps": -1}, "eval_steps"),
        ({"blessing_bound": 1.5}, "blessing_bound"),
        ({"blessing_max_change": -0.1}, "blessing_max_change"),
        ({"split_buckets": (2, 0)}, "split_buckets"),
        ({"split_buckets": (2,)}, "split_buckets"),
    ],
)
def test_config_rejects_impossible_values(config, override, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(config, **override)


def test_module_code_changes_change_the_cache_key(tmp_path, config):
    (tmp_path / "trainer.py").write_text("STEPS = 1\n")
    before = config_lib.modules_fingerprint(str(tmp_path))
    (tmp_path / "trainer.py").write_text("STEPS = 2\n")
    assert config_lib.modules_fingerprint(str(tmp_path)) != before
    pipeline = pipeline_lib.create_pipeline(config)
    for component_id in ("Transform", "Trainer"):
        component = next(c for c in pipeline.components if c.id == component_id)
        custom_config = json.loads(component.exec_properties["custom_config"])
        assert custom_config["modules_version"] == config.modules_version


def test_the_family_s_tests_are_not_in_the_cache_key(tmp_path):
    (tmp_path / "model.py").write_text("WIDTH = 8\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_family.py").write_text("def test_a(): pass\n")
    (tmp_path / "test_model.py").write_text("def test_b(): pass\n")
    before = config_lib.modules_fingerprint(str(tmp_path))
    (tmp_path / "tests" / "test_family.py").write_text("def test_a(): assert True\n")
    (tmp_path / "test_model.py").write_text("def test_b(): assert True\n")
    (tmp_path / "tests" / "helpers.py").write_text("ROWS = 3\n")
    assert config_lib.modules_fingerprint(str(tmp_path)) == before


def test_pytest_collects_the_families_own_tests():
    import tomllib

    with open(os.path.join(config_lib.PROJECT_ROOT, "pyproject.toml"), "rb") as project:
        testpaths = tomllib.load(project)["tool"]["pytest"]["ini_options"]["testpaths"]
    assert "modules" in testpaths and "tests" in testpaths


def test_every_file_below_the_family_folder_is_in_the_cache_key(tmp_path):
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "attention.py").write_text("WIDTH = 8\n")
    before = config_lib.modules_fingerprint(str(tmp_path))
    (tmp_path / "layers" / "attention.py").write_text("WIDTH = 16\n")
    assert config_lib.modules_fingerprint(str(tmp_path)) != before


def test_the_curated_schema_contents_are_in_its_cache_key(tmp_path, sample_dir):
    schema = tmp_path / "schema.pbtxt"
    shutil.copy(families.load("taxi").schema_file, schema)
    config = config_lib.local_config(str(tmp_path), sample_dir, schema_file=str(schema))
    importer = next(
        c
        for c in pipeline_lib.create_pipeline(config).components
        if c.id == pipeline_lib.SCHEMA_IMPORTER
    )
    assert importer.exec_properties["schema_file"] == str(schema)
    assert importer.exec_properties["schema_digest"] == config.schema_digest
    schema.write_text(schema.read_text() + "\n# edited\n")
    edited = config_lib.local_config(str(tmp_path), sample_dir, schema_file=str(schema))
    assert edited.schema_digest != config.schema_digest


def test_user_functions_are_imported_where_they_run_not_packaged(config, tmp_path):
    pipeline = pipeline_lib.create_pipeline(config)
    for component_id, key in (("Transform", "preprocessing_fn"), ("Trainer", "trainer_fn")):
        component = next(c for c in pipeline.components if c.id == component_id)
        assert component.exec_properties[key] == getattr(config, key)
        assert not component.exec_properties.get("module_file")
        # What TFX would package resolves to nothing: no wheel is built.
        assert all(
            dependency.resolve(str(tmp_path)) is None for dependency in component._pip_dependencies
        )
    assert not os.listdir(tmp_path)


def test_the_run_report_takes_the_task_and_the_examples(config):
    pipeline = pipeline_lib.create_pipeline(dataclasses.replace(config, report_step=True))
    run_report = next(c for c in pipeline.components if c.id == "RunReport")
    assert json.loads(run_report.exec_properties["task"]) == config.task.facts()
    assert run_report.inputs["examples"].producer_component_id == "CsvExampleGen"
