"""The penguins Trainer's entry point: its Keras model through the shared Estimator code."""

from modules.common import estimator
from modules.penguins import contract
from modules.penguins import model

trainer_fn = estimator.trainer_fn_for(contract.CONTRACT, model.build_from_transform)
