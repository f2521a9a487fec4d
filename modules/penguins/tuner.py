"""The penguins Tuner's entry point: its search space and model through the shared tuning code.

TFX's Tuner executor calls `tuner_fn(fn_args)`; every trial trains as the Trainer
does (`modules.common.tuning`), over the search space in `contract.py`.
"""

from modules.common import tuning
from modules.penguins import contract
from modules.penguins import model

tuner_fn = tuning.tuner_fn_for(contract.CONTRACT, model.build_from_transform)
