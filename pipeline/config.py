"""The pipeline's settings: one frozen object that every runner builds explicitly."""

import dataclasses
import glob
import hashlib
import os
from typing import Mapping, Tuple

from components.data_gate.report import DEFAULT_BLOCKING_KINDS
from components.example_gen import DEFAULT_SPLIT_BUCKETS

# The project's root folder: the modules TFX loads are found relative to it.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES_DIR = os.path.join(PROJECT_ROOT, "modules")
# The curated schema of the raw taxi columns: what the model is built for.
SCHEMA_FILE = os.path.join(PROJECT_ROOT, "data", "schema", "schema.pbtxt")


def modules_fingerprint(modules_dir: str = MODULES_DIR) -> str:
    """Returns a digest of the user code in `modules_dir` (every .py file).

    TFX loads the modules from source, not from a packaged wheel, so its cache
    cannot see them change; this digest, passed to Transform and Trainer, can.
    """
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(modules_dir, "*.py"))):
        digest.update(os.path.basename(path).encode())
        with open(path, "rb") as module_file:
            digest.update(module_file.read())
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Every value `create_pipeline` needs; runners differ only in what they pass.

    Attributes:
      pipeline_name: name in ML Metadata (and on a Kubeflow graph).
      pipeline_root: folder (or bucket) under which every artifact is written.
      data_root: folder of CSV files with the taxi columns.
      serving_model_dir: where blessed models are pushed, one version folder each.
      split_buckets: ExampleGen's hash buckets for train and eval; see
        `pipeline.sizing.split_buckets_for_rows` for sizing them to the data.
      schema_file: the curated raw-data schema new data is validated against.
      preprocessing_module: file holding `preprocessing_fn`.
      trainer_module: file holding `trainer_fn`.
      train_steps: training steps of `train_batch_size` examples.
      eval_steps: evaluation steps during training; 0 reads the whole eval split.
      min_auc: the lowest overall eval AUC that may be blessed.
      max_auc_drop: how far below the latest blessed model's AUC a candidate may fall.
      hparams: overrides of `modules.trainer.DEFAULT_HPARAMS`.
      blocking_anomalies: TFDV anomaly kinds that stop a run before Transform.
      force_push: push the candidate even if the Evaluator did not bless it (an
        operator's override, logged; never the default).
      modules_version: digest of the user modules, part of Transform's and the
        Trainer's cache keys.
      beam_pipeline_args: arguments for the Beam-based components.
      component_beam_args: more Beam arguments for single components, by node id;
        they come after `beam_pipeline_args`, so they win where both set a flag.
      enable_cache: take a component's outputs from a previous identical run.
      report_ui_metadata_path: where the RunReport step writes KFP v1's UI metadata
        (the page as a `web-app` output); empty (local runs) writes none.
    """

    pipeline_name: str
    pipeline_root: str
    data_root: str
    serving_model_dir: str
    split_buckets: Tuple[int, int] = DEFAULT_SPLIT_BUCKETS
    schema_file: str = SCHEMA_FILE
    preprocessing_module: str = os.path.join(MODULES_DIR, "preprocessing.py")
    trainer_module: str = os.path.join(MODULES_DIR, "trainer.py")
    train_steps: int = 300
    eval_steps: int = 0
    min_auc: float = 0.9
    max_auc_drop: float = 0.01
    hparams: Mapping[str, object] = dataclasses.field(default_factory=dict)
    blocking_anomalies: Tuple[str, ...] = DEFAULT_BLOCKING_KINDS
    force_push: bool = False
    modules_version: str = dataclasses.field(default_factory=modules_fingerprint)
    beam_pipeline_args: Tuple[str, ...] = ()
    component_beam_args: Mapping[str, Tuple[str, ...]] = dataclasses.field(
        default_factory=dict)
    enable_cache: bool = True
    report_ui_metadata_path: str = ""

    def __post_init__(self):
        if len(self.split_buckets) != 2 or min(self.split_buckets) < 1:
            raise ValueError(f"split_buckets must be two positive counts (train, eval), "
                             f"got {tuple(self.split_buckets)}.")
        if self.train_steps <= 0:
            raise ValueError(f"train_steps must be positive, got {self.train_steps}.")
        if self.eval_steps < 0:
            raise ValueError(f"eval_steps must be 0 or more, got {self.eval_steps}.")
        if not 0.0 <= self.min_auc <= 1.0:
            raise ValueError(f"min_auc must be within [0, 1], got {self.min_auc}.")
        if self.max_auc_drop < 0:
            raise ValueError(f"max_auc_drop must be 0 or more, got {self.max_auc_drop}.")


def local_config(
    build_dir: str,
    data_root: str,
    pipeline_name: str = "chicago-taxi",
    **overrides,
) -> PipelineConfig:
    """Returns the settings of a local run whose outputs all live under `build_dir`."""
    return PipelineConfig(
        pipeline_name=pipeline_name,
        pipeline_root=os.path.join(build_dir, "pipeline_root"),
        data_root=os.path.abspath(data_root),
        serving_model_dir=os.path.join(build_dir, "serving_model"),
        **overrides,
    )


def metadata_path(build_dir: str) -> str:
    """Returns the SQLite ML Metadata file of a local run under `build_dir`."""
    return os.path.join(build_dir, "metadata.sqlite")

