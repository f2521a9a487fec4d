"""Hyperparameter tuning: TFX's Tuner executor running each family's `tuner_fn`, whose
trials train through the Estimator path, and the Trainer reading the best values."""

import json
import os
import re
import shutil
import textwrap

import keras_tuner
import pytest
import tensorflow as tf
from tfx.components.trainer import fn_args_utils
from tfx.dsl.components.common.resolver import RESOLVER_STRATEGY_CLASS
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components import latest_artifact
from components import tuner as tuner_component
from modules.common import contract as contract_lib
from modules.common import estimator
from modules.common import tuning
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import pipeline as pipeline_lib
from pipeline.serving import client as serving

TRIAL_STEPS = 40
BATCH = {"train_batch_size": 32}


def _artifact(artifact_class, uri, **properties):
    artifact = artifact_class()
    artifact.uri = str(uri)
    for key, value in properties.items():
        setattr(artifact, key, value)
    return artifact


def run_tuner(
    root, transformed, family_name, module_file, trials=2, steps=TRIAL_STEPS, custom_config=None
):
    """Runs the project's TFX Tuner executor on a transformed sample, as a pipeline does.

    Returns (the best hyperparameters' config, the trials written in tuner_results).
    """
    family = families.load(family_name)
    examples = root / "examples"
    for split, files in (("train", transformed.train_files), ("eval", transformed.eval_files)):
        (examples / f"Split-{split}").mkdir(parents=True)
        for path in files:
            shutil.copy(path, examples / f"Split-{split}")
    (root / "schema").mkdir()
    shutil.copy(family.schema_file, root / "schema")
    outputs = {
        "best_hyperparameters": [_artifact(standard_artifacts.HyperParameters, root / "best")],
        "tuner_results": [_artifact(standard_artifacts.TunerResults, root / "results")],
    }
    for (artifact,) in outputs.values():
        os.makedirs(artifact.uri)
    inputs = {
        "examples": [
            _artifact(standard_artifacts.Examples, examples, split_names='["train", "eval"]')
        ],
        "transform_graph": [
            _artifact(standard_artifacts.TransformGraph, transformed.transform_output)
        ],
        "schema": [_artifact(standard_artifacts.Schema, root / "schema")],
    }
    config = {
        "tuning": {"trials": trials},
        "hparams": BATCH,
        "family": family_name,
        **(custom_config or {}),
    }
    # A file (a test's own tuner module), or a dotted path as the pipeline names it.
    exec_properties = {
        ("module_file" if str(module_file).endswith(".py") else "tuner_fn"): str(module_file),
        "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(num_steps=steps)),
        "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs()),
        "custom_config": json.dumps(config),
    }
    executor = tuner_component.Executor(
        tuner_component.Executor.Context(tmp_dir=str(root / "tmp"), unique_id="1")
    )
    executor.Do(inputs, outputs, exec_properties)
    with open(root / "best" / "best_hyperparameters.txt") as best_file:
        best = json.load(best_file)
    return best, tuner_component.read_trials(str(root / "results"))


@pytest.fixture(scope="module", params=["taxi", "reviews"])
def search(request, tmp_path_factory):
    """A two-trial search of a family's `tuner_fn` on its transformed sample."""
    family = families.load(request.param)
    transformed = request.getfixturevalue(
        "transformed_sample" if request.param == "taxi" else "transformed_reviews"
    )
    root = tmp_path_factory.mktemp(f"tune_{request.param}")
    best, trials = run_tuner(root, transformed, request.param, family.tuner_fn_path)
    return family, transformed, root, best, trials


def test_both_trials_train_the_requested_steps_and_are_scored_by_eval_auc(search):
    family, _, _, _, trials = search
    assert [t["status"] for t in trials] == ["COMPLETED", "COMPLETED"]
    for trial in trials:
        assert 0.0 < trial["score"] <= 1.0
        assert trial["score"] == trial["metrics"][family.contract.task.objective[0]]
        assert trial["metrics"]["global_step"] == TRIAL_STEPS
        assert trial["metrics"]["seconds"] > 0
        assert set(trial["hyperparameters"]) == set(family.contract.search_space)
    assert trials[0]["score"] >= trials[1]["score"], "best first"


def test_the_first_trial_is_the_defaults_and_the_second_differs(search):
    family, _, _, _, trials = search
    by_id = {t["trial_id"]: t["hyperparameters"] for t in trials}
    defaults = {name: family.contract.default_hparams[name] for name in by_id["0"]}
    assert by_id["0"] == defaults
    assert by_id["1"] != defaults
    for name, value in by_id["1"].items():
        assert family.contract.search_space[name].contains(value), name


def test_the_best_hyperparameters_are_the_best_trials_and_load_in_keras_tuner(search):
    _, _, _, best, trials = search
    assert best["values"] == trials[0]["hyperparameters"]
    assert keras_tuner.HyperParameters.from_config(best).values == best["values"]


def test_each_trial_trained_from_scratch_in_its_own_folder(search):
    _, _, root, _, trials = search
    trial_dirs = _found(root / "tmp", "model")
    assert len(trial_dirs) == len(trials)
    for model_dir in trial_dirs:
        assert tf.train.latest_checkpoint(model_dir).endswith(f"-{TRIAL_STEPS}")


def _found(root, name):
    """Paths `trial_*/<name>` below `root`."""
    return sorted(
        os.path.join(folder, name)
        for folder, dirs, files in os.walk(root)
        if os.path.basename(folder).startswith("trial_") and name in dirs + files
    )


def _weights(model_dir):
    """(variable path, shape) of the Keras model's weights in a checkpoint, layer order.

    Checkpoints of `model_to_estimator` name weights by object path, such as
    `layer_with_weights-13/kernel/.ATTRIBUTES/VARIABLE_VALUE`.
    """
    found = []
    for name, shape in tf.train.list_variables(model_dir):
        match = re.match(r"layer_with_weights-(\d+)/(.*)/\.ATTRIBUTES/VARIABLE_VALUE$", name)
        if match and ".OPTIMIZER_SLOT" not in name:
            found.append((int(match.group(1)), match.group(2), shape))
    return [(path, shape) for _, path, shape in sorted(found)]


def _dense_kernel_widths(model_dir):
    """Output widths of the 2-D kernels (the dense layers), in layer order."""
    return [shape[1] for path, shape in _weights(model_dir) if path == "kernel"]


def test_the_taxi_trainer_builds_its_model_from_tuned_values(tmp_path, transformed_sample):
    """Tuned values reach the model; an explicit run override still wins over them."""
    family = families.load("taxi")
    tuned = tuning.search_space(family.contract)
    tuned.values.update(first_layer_units=128, second_layer_units=16, dropout=0.2)
    model_dir = str(tmp_path / "serving_model_dir")
    fn_args = fn_args_utils.FnArgs(
        train_files=transformed_sample.train_files,
        eval_files=transformed_sample.eval_files,
        transform_output=transformed_sample.transform_output,
        serving_model_dir=model_dir,
        train_steps=2,
        eval_steps=0,
        hyperparameters=tuned.get_config(),
        custom_config={"hparams": {**BATCH, "second_layer_units": 8}},
    )
    spec = families.trainer_fn(family)(fn_args, serving.load_schema(family.schema_file))
    spec["estimator"].train(spec["train_spec"].input_fn, max_steps=2)
    assert _dense_kernel_widths(model_dir) == [128, 8, 1]


def test_the_trainer_uses_the_best_hyperparameters_the_tuner_wrote(search, tmp_path):
    family, transformed, _, best, _ = search
    model_dir = str(tmp_path / "serving_model_dir")
    fn_args = fn_args_utils.FnArgs(
        train_files=transformed.train_files,
        eval_files=transformed.eval_files,
        transform_output=transformed.transform_output,
        serving_model_dir=model_dir,
        train_steps=2,
        eval_steps=0,
        hyperparameters=best,
        custom_config={"hparams": BATCH},
    )
    spec = families.trainer_fn(family)(fn_args, serving.load_schema(family.schema_file))
    spec["estimator"].train(spec["train_spec"].input_fn, max_steps=2)
    values = best["values"]
    if family.name == "taxi":
        assert _dense_kernel_widths(model_dir) == [
            values["first_layer_units"],
            values["second_layer_units"],
            1,
        ]
    else:
        weights = dict(_weights(model_dir))
        assert weights["embeddings"][1] == values["embedding_dim"]
        # An LSTM's input kernel holds its four gates side by side.
        (lstm_kernel,) = [s for p, s in weights.items() if p.endswith("cell/kernel")]
        assert lstm_kernel == [values["embedding_dim"], 4 * values["lstm_units"]]


# --- failures --------------------------------------------------------------------------

FAILING_MODULE = """
from modules.common import tuning
from modules.taxi import contract
from modules.taxi import model


def build(tf_transform_output, hparams):
    if {condition}:
        raise ValueError(f"no model of {{hparams['first_layer_units']}} units here")
    return model.build_from_transform(tf_transform_output, hparams)


tuner_fn = tuning.tuner_fn_for(contract.CONTRACT, build)
"""


def _failing_module(tmp_path, condition):
    path = tmp_path / "failing_tuner.py"
    path.write_text(textwrap.dedent(FAILING_MODULE.format(condition=condition)))
    return path


def test_a_trial_that_raises_is_reported_with_its_error_and_the_search_goes_on(
    tmp_path, transformed_sample
):
    # The defaults (64 units) build; any other width raises.
    module = _failing_module(tmp_path, "hparams['first_layer_units'] != 64")
    best, trials = run_tuner(
        tmp_path,
        transformed_sample,
        "taxi",
        module,
        custom_config={"tuning": {"trials": 3, "seed": 3}},
    )
    assert [t["status"] for t in trials][0] == "COMPLETED"
    failed = [t for t in trials if t["status"] == "FAILED"]
    assert failed and trials[0]["hyperparameters"]["first_layer_units"] == 64
    for trial in failed:
        units = trial["hyperparameters"]["first_layer_units"]
        assert trial["score"] is None
        assert f"Trial {trial['trial_id']} with" in trial["error"]
        assert f"ValueError: no model of {units} units here" in trial["error"]
    assert best["values"] == trials[0]["hyperparameters"]


def test_a_search_whose_trials_all_fail_stops_naming_the_first_trial(tmp_path, transformed_sample):
    module = _failing_module(tmp_path, "True")
    with pytest.raises(tuning.TuningError) as raised:
        run_tuner(tmp_path, transformed_sample, "taxi", module)
    message = str(raised.value)
    assert "none of its 2 trials completed" in message
    assert "the first, trial 0 with hyperparameters {'first_layer_units': 64," in message
    assert "ValueError: no model of 64 units here" in message
    assert not os.path.exists(tmp_path / "best" / "best_hyperparameters.txt")


def test_failures_in_a_row_stop_a_longer_search_early(tmp_path, transformed_sample):
    module = _failing_module(tmp_path, "True")
    with pytest.raises(
        tuning.TuningError,
        match=r"3 trials failed in a row; the first, "
        r"trial 00 with",
    ):
        run_tuner(
            tmp_path, transformed_sample, "taxi", module, custom_config={"tuning": {"trials": 10}}
        )
    trial_files = _found(tmp_path / "tmp", "trial.json")
    assert len(trial_files) == tuning.MAX_FAILURES_IN_A_ROW


# --- settings and precedence -----------------------------------------------------------


def test_hparams_precedence_defaults_then_tuned_then_run_overrides():
    taxi = families.load("taxi").contract
    tuned = {"values": {"learning_rate": 0.001, "dropout": 0.3}}
    hparams = estimator.hparams_for(taxi, {"hparams": {"dropout": 0.0}}, tuned)
    assert hparams["learning_rate"] == 0.001  # tuned over the family's default
    assert hparams["dropout"] == 0.0  # the run's override over tuned
    assert hparams["first_layer_units"] == 64  # the family's default
    assert hparams["train_batch_size"] == contract_lib.TRAINING_DEFAULTS["train_batch_size"]
    assert estimator.hparams_for(taxi, None, None) == {
        **contract_lib.TRAINING_DEFAULTS,
        **taxi.default_hparams,
    }


def test_tuned_values_the_family_lacks_are_left_out():
    taxi = families.load("taxi").contract
    assert estimator.tuned_values(taxi, {"values": {"lstm_units": 8, "dropout": 0.2}}) == {
        "dropout": 0.2
    }


def test_the_search_space_leaves_out_what_the_run_fixes():
    taxi = families.load("taxi").contract
    space = tuning.search_space(taxi, fixed={"learning_rate": 0.01})
    assert {hp.name for hp in space.space} == set(taxi.search_space) - {"learning_rate"}
    assert space.values == {name: taxi.default_hparams[name] for name in space.values}


@pytest.mark.parametrize("algorithm", ["random", "bayesian"])
def test_every_algorithm_proposes_the_defaults_first_then_values_in_the_space(algorithm, tmp_path):
    taxi = families.load("taxi").contract
    oracle = tuning.make_oracle(
        algorithm, tuning.search_space(taxi), trials=3, seed=5, objective=taxi.task.objective
    )
    oracle._set_project_dir(str(tmp_path), "p")
    first = oracle.create_trial("tuner0")
    assert first.hyperparameters.values == {n: taxi.default_hparams[n] for n in taxi.search_space}
    first.status = "COMPLETED"
    oracle.update_trial(first.trial_id, {taxi.task.objective[0]: 0.9})
    oracle.end_trial(first)
    second = oracle.create_trial("tuner0")
    assert second.hyperparameters.values != first.hyperparameters.values
    for name, value in second.hyperparameters.values.items():
        assert taxi.search_space[name].contains(value), name


def test_bayesian_search_fits_its_gaussian_process_after_the_random_start(tmp_path):
    """After its random start (3 points per dimension), each proposal comes from
    scikit-learn's Gaussian process fitted on the scores so far."""
    taxi = families.load("taxi").contract
    space = tuning.search_space(taxi)
    start = 3 * len(space.space)
    oracle = tuning.make_oracle(
        "bayesian", space, trials=start + 2, seed=5, objective=taxi.task.objective
    )
    oracle._set_project_dir(str(tmp_path), "p")
    for number in range(start + 2):
        trial = oracle.create_trial("tuner0")
        assert trial.status == "RUNNING", number
        for name, value in trial.hyperparameters.values.items():
            assert taxi.search_space[name].contains(value), name
        trial.status = "COMPLETED"
        # A score that prefers less dropout: something for the process to learn.
        oracle.update_trial(
            trial.trial_id, {taxi.task.objective[0]: 0.9 - trial.hyperparameters.values["dropout"]}
        )
        oracle.end_trial(trial)
        fitted = hasattr(oracle.gpr, "X_train_")
        assert fitted == (number >= start), number
    assert oracle.gpr.X_train_.shape == (start + 1, len(space.space))
    assert oracle.create_trial("tuner0").status == "STOPPED"


def test_unknown_algorithms_and_settings_are_refused():
    space = tuning.search_space(families.load("taxi").contract)
    with pytest.raises(ValueError, match="Unknown tuning algorithm 'grid'.*random, bayesian"):
        tuning.make_oracle("grid", space, trials=2, seed=1, objective=("auc", "max"))
    with pytest.raises(ValueError, match=r"Unknown tuning settings \['trails'\]"):
        tuning.tuning_settings({"tuning": {"trails": 3}})


@pytest.mark.parametrize(
    "dimension, message",
    [
        (
            contract_lib.Choice((32, 128)),
            r"the default first_layer_units=64 is not one of \[32, 128\]",
        ),
        (contract_lib.IntRange(8, 4), "needs low < high"),
        (contract_lib.FloatRange(0.0, 1.0, log=True), "log scale needs low > 0"),
    ],
)
def test_a_search_space_that_misses_the_defaults_or_is_empty_is_refused(dimension, message):
    taxi = families.load("taxi").contract
    with pytest.raises(ValueError, match=message):
        contract_lib.FamilyContract(
            **{**taxi.__dict__, "search_space": {"first_layer_units": dimension}}
        )


def test_a_search_space_naming_an_unknown_hyperparameter_is_refused():
    taxi = families.load("taxi").contract
    with pytest.raises(ValueError, match="search_space names 'depth', which has no default"):
        contract_lib.FamilyContract(
            **{**taxi.__dict__, "search_space": {"depth": contract_lib.Choice((1, 2))}}
        )


# --- the pipeline's wiring and settings --------------------------------------------------


def _components(config):
    return {c.id: c for c in pipeline_lib.create_pipeline(config).components}


def test_with_tuning_the_tuner_runs_between_transform_and_the_trainer(tmp_path, sample_dir):
    config = config_lib.local_config(
        str(tmp_path),
        sample_dir,
        tune=True,
        tuning_trials=3,
        tuning_steps=50,
        hparams={"dropout": 0.2},
    )
    components = _components(config)
    assert pipeline_lib.HYPERPARAMETERS_RESOLVER not in components
    tuner = components[pipeline_lib.TUNER]
    assert tuner.executor_spec.executor_class is tuner_component.Executor
    assert {u.id for u in tuner.upstream_nodes} == {
        pipeline_lib.TRANSFORM,
        pipeline_lib.SCHEMA_IMPORTER,
    }
    assert tuner.exec_properties["tuner_fn"] == config.tuner_fn == "modules.common.entry.tuner_fn"
    assert '"num_steps": 50' in tuner.exec_properties["train_args"]
    assert json.loads(tuner.exec_properties["custom_config"]) == {
        "tuning": {"algorithm": "random", "trials": 3, "seed": 1, "trainer": "estimator"},
        "hparams": {"dropout": 0.2},
        "modules_version": config.modules_version,
        "family": "taxi",
    }
    trainer = components[pipeline_lib.TRAINER]
    assert trainer.inputs["hyperparameters"].producer_component_id == pipeline_lib.TUNER


def test_without_tuning_the_trainer_takes_the_latest_tuned_values_of_its_pipeline(
    tmp_path, sample_dir
):
    config = config_lib.local_config(str(tmp_path), sample_dir)
    components = _components(config)
    assert pipeline_lib.TUNER not in components
    trainer = components[pipeline_lib.TRAINER]
    assert trainer.inputs["hyperparameters"].producer_component_id == (
        pipeline_lib.HYPERPARAMETERS_RESOLVER
    )
    resolver = components[pipeline_lib.HYPERPARAMETERS_RESOLVER]
    assert resolver.exec_properties[RESOLVER_STRATEGY_CLASS] is (
        latest_artifact.LatestArtifactIfAnyStrategy
    )
    assert config.trial_steps == config.train_steps


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"tuning_algorithm": "grid"}, "tuning_algorithm must be one of random, bayesian"),
        ({"tuning_trials": 0}, "tuning_trials must be 1 or more"),
        ({"tuning_steps": -1}, "tuning_steps must be 0"),
        ({"tuning_seed": 0}, "tuning_seed must be 1 or more"),
        ({"tune": True, "tuner_fn": ""}, "cannot be tuned: it has no tuner module"),
    ],
)
def test_tuning_settings_are_checked_when_the_config_is_built(
    tmp_path, sample_dir, overrides, message
):
    with pytest.raises(ValueError, match=message):
        config_lib.local_config(str(tmp_path), sample_dir, **overrides)
