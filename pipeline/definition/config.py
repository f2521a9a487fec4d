"""The pipeline's settings: one frozen object that every runner builds explicitly."""

import dataclasses
import hashlib
import os
from typing import Mapping, Tuple

from components.data_gate.report import DEFAULT_BLOCKING_KINDS
from components.example_gen import DEFAULT_SPLIT_BUCKETS
from modules.common.contract import TUNING_ALGORITHMS
from modules.common.contract import FamilyContract
from modules.common.paths import PROJECT_ROOT
from pipeline.definition import families
from pipeline.definition import trainers

# A family's tests folder, which no component loads.
TESTS_DIR = "tests"


def _add_file(digest, path: str) -> None:
    with open(path, "rb") as user_file:
        digest.update(user_file.read())


def file_digest(path: str) -> str:
    """Returns a digest of one file's bytes."""
    digest = hashlib.sha256()
    _add_file(digest, path)
    return digest.hexdigest()[:16]


def modules_fingerprint(family_dir: str) -> str:
    """Returns a digest of the user code a family's Transform and Trainer load.

    Every file below the family's folder and below `modules/common/`, but the
    family's tests (`modules/<family>/tests/`, `test_*.py`): editing a test re-runs
    nothing. TFX loads the modules from source, not from a packaged wheel, so its
    cache cannot see them change; this digest, passed to Transform and the Trainer, can.
    """
    digest = hashlib.sha256()
    for folder in (os.path.join(families.MODULES_DIR, families.COMMON), family_dir):
        for root, _, files in sorted(os.walk(folder)):
            parts = os.path.relpath(root, folder).split(os.sep)
            if "__pycache__" in parts or (folder == family_dir and TESTS_DIR in parts):
                continue
            for name in sorted(files):
                if name.endswith(".pyc") or name.startswith("test_"):
                    continue
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, families.MODULES_DIR).encode())
                _add_file(digest, path)
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Every value `create_pipeline` needs; runners differ only in what they pass.

    Build it with `family_config` (or `local_config`), which fills the family's
    files and defaults.

    Attributes:
      contract: the model family's contract (`modules/<family>/contract.py`).
      pipeline_name: name in ML Metadata (and on a Kubeflow graph).
      pipeline_root: folder (or bucket) under which every artifact is written.
      data_root: folder of CSV files with the family's columns.
      serving_model_dir: where blessed models are pushed, one version folder each.
      schema_file: the curated raw-data schema new data is validated against.
      schema_digest: digest of the schema's contents, part of its importer's cache key.
      preprocessing_fn: the dotted path of Transform's `preprocessing_fn`.
      trainer_fn: the dotted path of the Trainer's `trainer_fn`.
      modules_version: digest of the family's and the shared modules, part of
        Transform's and the Trainer's cache keys.
      train_steps: training steps of `train_batch_size` examples.
      train_epochs: train for this many epochs of the training split instead (where
        no row count turns them into steps before the run: Kubeflow): the Trainer
        gets no step count and the epochs in its `custom_config`, and its input
        ends after them (`modules.common.epochs`). 0: `train_steps`.
      blessing_bound: the worst value of the task's blessing metric that may be
        blessed (a lower bound where higher is better, an upper bound where lower is).
      blessing_max_change: how much worse than the latest blessed model's value of
        that metric a candidate may be.
      split_buckets: ExampleGen's hash buckets for train and eval; see
        `pipeline.local.sizing.split_buckets_for_rows` for sizing them to the data.
      eval_steps: evaluation steps during training; 0 reads the whole eval split.
      hparams: overrides of the family's `default_hparams`.
      blocking_anomalies: TFDV anomaly kinds that stop a run before Transform.
      force_push: push the candidate even if the Evaluator did not bless it (an
        operator's override, logged; never the default).
      beam_pipeline_args: arguments for the Beam-based components.
      component_beam_args: more Beam arguments for single components, by node id;
        they come after `beam_pipeline_args`, so they win where both set a flag.
      enable_cache: take a component's outputs from a previous identical run.
      report_step: end the pipeline with the RunReport step, the page as an artifact
        (what a Kubeflow run shows). A local run leaves it out: its runner renders the
        page once, from ML Metadata, after the run, however it ended.
      report_ui_metadata_path: where the RunReport step writes KFP v1's UI metadata
        (the page as a `web-app` output); empty (local runs) writes none.
      tune: run the Tuner before the Trainer, which then trains with its best
        hyperparameters; off, the Trainer takes the latest ones tuned by an earlier
        run of this pipeline (the family's defaults if none).
      tuner_fn: the dotted path of the Tuner's `tuner_fn`; empty: the family cannot
        be tuned.
      tuning_algorithm: the search: "random" (keras-tuner's random search) or
        "bayesian" (Bayesian optimization: a scikit-learn Gaussian process after a random
        start of 3 trials per hyperparameter).
      tuning_trials: trials of a search, the first of them the family's defaults.
      tuning_steps: training steps of each trial; 0: `train_steps`.
      tuning_seed: the search's random seed (the same seed proposes the same trials).
      trainer: "estimator" (TFX's Estimator Trainer, `trainer_fn`) or "keras" (TFX's
        GenericExecutor, the shared `run_fn`); see `pipeline.definition.trainers`.
    """

    contract: FamilyContract
    pipeline_name: str
    pipeline_root: str
    data_root: str
    serving_model_dir: str
    schema_file: str
    schema_digest: str
    preprocessing_fn: str
    trainer_fn: str
    modules_version: str
    train_steps: int
    blessing_bound: float
    blessing_max_change: float
    split_buckets: Tuple[int, int] = DEFAULT_SPLIT_BUCKETS
    eval_steps: int = 0
    hparams: Mapping[str, object] = dataclasses.field(default_factory=dict)
    blocking_anomalies: Tuple[str, ...] = DEFAULT_BLOCKING_KINDS
    force_push: bool = False
    beam_pipeline_args: Tuple[str, ...] = ()
    component_beam_args: Mapping[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)
    enable_cache: bool = True
    report_step: bool = True
    report_ui_metadata_path: str = ""
    tune: bool = False
    tuner_fn: str = ""
    tuning_algorithm: str = "random"
    tuning_trials: int = 4
    tuning_steps: int = 0
    tuning_seed: int = 1
    train_epochs: float = 0
    trainer: str = trainers.DEFAULT_TRAINER

    @property
    def task(self):
        """The family's task, with this run's blessing bound and allowed change."""
        return self.contract.task.with_blessing(self.blessing_bound, self.blessing_max_change)

    @property
    def trial_steps(self) -> int:
        """Training steps of each tuning trial."""
        return self.tuning_steps or self.train_steps

    def __post_init__(self):
        trainers.check(self.trainer)
        if len(self.split_buckets) != 2 or min(self.split_buckets) < 1:
            raise ValueError(
                f"split_buckets must be two positive counts (train, eval), "
                f"got {tuple(self.split_buckets)}."
            )
        if self.train_steps <= 0:
            raise ValueError(f"train_steps must be positive, got {self.train_steps}.")
        if self.train_epochs < 0:
            raise ValueError(f"train_epochs must be 0 or more, got {self.train_epochs}.")
        if self.eval_steps < 0:
            raise ValueError(f"eval_steps must be 0 or more, got {self.eval_steps}.")
        try:
            _ = self.task
        except ValueError as error:
            raise ValueError(
                f"blessing_bound {self.blessing_bound} or blessing_max_change "
                f"{self.blessing_max_change}: {error}."
            ) from None
        if self.tuning_algorithm not in TUNING_ALGORITHMS:
            raise ValueError(
                f"tuning_algorithm must be one of {', '.join(TUNING_ALGORITHMS)}, "
                f"got {self.tuning_algorithm!r}."
            )
        if self.tuning_trials < 1:
            raise ValueError(f"tuning_trials must be 1 or more, got {self.tuning_trials}.")
        if self.tuning_steps < 0:
            raise ValueError(
                f"tuning_steps must be 0 (train_steps) or more, got {self.tuning_steps}."
            )
        if self.tuning_seed < 1:
            # keras-tuner draws a random seed for 0.
            raise ValueError(f"tuning_seed must be 1 or more, got {self.tuning_seed}.")
        if self.tune and not self.contract.search_space:
            raise ValueError(
                f"The {self.contract.name!r} family cannot be tuned: its "
                "contract declares no search_space."
            )
        if self.tune and not self.tuner_fn:
            raise ValueError(
                f"The {self.contract.name!r} family cannot be tuned: it has no "
                "tuner module (modules/<family>/tuner.py with tuner_fn)."
            )
        unknown = sorted(set(self.hparams) - set(self.contract.hparam_defaults))
        if unknown:
            raise ValueError(
                f"hparams names {unknown}, which the {self.contract.name!r} "
                f"family does not have; it has {sorted(self.contract.hparam_defaults)}."
            )


def family_config(
    family_name: str,
    pipeline_root: str,
    data_root: str,
    serving_model_dir: str,
    files_root: str = PROJECT_ROOT,
    **overrides,
) -> PipelineConfig:
    """Returns the settings of a run of one model family.

    Args:
      family_name: the folder under `modules/`; it is loaded and checked here.
      pipeline_root: where artifacts go.
      data_root: the folder of CSV files.
      serving_model_dir: where blessed models are pushed.
      files_root: where the project's files are where the components run: this
        checkout locally, the image's project folder on Kubeflow.
      **overrides: any other `PipelineConfig` field.

    Raises:
      families.FamilyError: the family is unknown, incomplete or inconsistent.
    """
    family = families.load(family_name)
    contract = family.contract
    # Another curated schema than the family's may be given as a local file.
    schema_file = overrides.pop("schema_file", family.schema_file)

    def where_run(path):
        """A project file where the components run; any other path as it is."""
        relative = os.path.relpath(path, PROJECT_ROOT)
        return path if relative.startswith("..") else os.path.join(files_root, relative)

    trainer = overrides.get("trainer", trainers.DEFAULT_TRAINER)
    values = dict(
        contract=contract,
        # Each trainer has its own runs, cache and baseline.
        pipeline_name=trainers.suffixed(contract.pipeline_name, trainer),
        pipeline_root=pipeline_root,
        data_root=data_root,
        serving_model_dir=serving_model_dir,
        schema_file=where_run(schema_file),
        schema_digest=file_digest(schema_file),
        preprocessing_fn=family.function_path("preprocessing", "preprocessing_fn"),
        trainer_fn=family.trainer_fn_path,
        tuner_fn=family.tuner_fn_path,
        modules_version=modules_fingerprint(family.module_dir),
        train_steps=contract.train_steps,
        # The family's epochs, unless steps are given (the local runner gives the
        # steps it counted for them).
        train_epochs=0 if "train_steps" in overrides else contract.train_epochs,
        blessing_bound=contract.task.blessing.bound,
        blessing_max_change=contract.task.blessing.max_change,
    )
    values.update(overrides)
    return PipelineConfig(**values)


def local_config(
    build_dir: str, data_root: str, family: str = families.DEFAULT_FAMILY, **overrides
) -> PipelineConfig:
    """Returns the settings of a local run whose outputs all live under `build_dir`.

    Each family (and each trainer of it: `<family>-keras`) has its own pipeline root
    and serving folder under `build_dir`, and shares the one ML Metadata store.
    """
    folder = trainers.suffixed(family, overrides.get("trainer", trainers.DEFAULT_TRAINER))
    return family_config(
        family,
        pipeline_root=os.path.join(build_dir, "pipeline_root", folder),
        data_root=os.path.abspath(data_root),
        serving_model_dir=os.path.join(build_dir, "serving_model", folder),
        **{"report_step": False, **overrides},
    )


def metadata_path(build_dir: str) -> str:
    """Returns the SQLite ML Metadata file of a local run under `build_dir`."""
    return os.path.join(build_dir, "metadata.sqlite")
