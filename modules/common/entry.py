"""The Trainer's and the Tuner's entry points, the same for every family.

TFX imports `modules.common.entry.trainer_fn` (and `tuner_fn`) by dotted path; the
family comes by name in the component's `custom_config["family"]`, and its contract
and model builder from its package, `modules.<family>` (`contract.CONTRACT`,
`model.build_from_transform`). A family needs no `trainer.py` or `tuner.py` of its
own; one that has them keeps them (the pipeline then names those instead).
"""

import importlib
from typing import Mapping, Optional

# Light on purpose: the pipeline's definition reads FAMILY_KEY without loading
# TensorFlow; the Estimator and tuning code load when an entry point runs.

FAMILY_KEY = "family"
TRAINER_FN = "modules.common.entry.trainer_fn"
TUNER_FN = "modules.common.entry.tuner_fn"
RUN_FN = "modules.common.entry.run_fn"


def family_parts(custom_config: Optional[Mapping]) -> tuple:
    """The contract and model builder of the family named in `custom_config`."""
    name = (custom_config or {}).get(FAMILY_KEY)
    if not name:
        raise ValueError(
            f"custom_config names no {FAMILY_KEY!r}: the pipeline passes the "
            "family's name to the Trainer and the Tuner."
        )
    contract = importlib.import_module(f"modules.{name}.contract").CONTRACT
    model = importlib.import_module(f"modules.{name}.model")
    return contract, model.build_from_transform


def trainer_fn(fn_args, schema):
    """TFX's Estimator Trainer entry: the named family's Keras model, trained."""
    from modules.common import estimator

    contract, build_model = family_parts(fn_args.custom_config)
    return estimator.build_trainer_spec(fn_args, schema, contract, build_model)


def run_fn(fn_args):
    """TFX's GenericExecutor (Keras) Trainer entry: the named family, fit and exported."""
    from modules.common import keras_training

    keras_training.run_fn(fn_args)


def tuner_fn(fn_args):
    """TFX's Tuner entry: the named family's search space and model."""
    from modules.common import tuning

    contract, build_model = family_parts(fn_args.custom_config)
    return tuning.tuner_fn_for(contract, build_model)(fn_args)
