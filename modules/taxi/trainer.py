"""The taxi Trainer's entry point: its Keras model through the shared Estimator code.

TFX's Estimator-based Trainer executor calls `trainer_fn(fn_args, schema)`; what it
does is written once for every family in `modules.common.estimator`.
"""

from modules.common import estimator
from modules.taxi import contract
from modules.taxi import model

trainer_fn = estimator.trainer_fn_for(contract.CONTRACT, model.build_from_transform)
