"""What differs between the two trainers of a family: the Estimator's and TFX's Keras one.

- `estimator` (the default): TFX's Estimator Trainer executor calls `trainer_fn`, which
  runs the family's Keras model through `model_to_estimator` and `train_and_evaluate`
  and exports an EvalSavedModel beside the serving model; the Evaluator reads that.
- `keras`: TFX's GenericExecutor calls the shared `run_fn`
  (`modules.common.keras_training`), which trains the same model with `model.fit` and
  exports a serving model with a `transform_features` signature; the Evaluator
  evaluates the serving model itself. TFX 1.16 and later train only this way.

Each trainer has its own pipeline name (and so its own runs, cache and baseline: TFMA
0.46 cannot evaluate an EvalSavedModel and a Keras model together) and its own folders
under a build folder. Building a pipeline reads these facts; nothing here loads
TensorFlow.
"""

ESTIMATOR = "estimator"
KERAS = "keras"
TRAINERS = (ESTIMATOR, KERAS)
DEFAULT_TRAINER = ESTIMATOR

# The shared GenericExecutor entry point of every family.
RUN_FN = "modules.common.entry.run_fn"


def check(trainer: str) -> str:
    """Returns `trainer` if it is one of `TRAINERS`.

    Raises:
      ValueError: naming the trainer and the known ones.
    """
    if trainer not in TRAINERS:
        raise ValueError(f"trainer must be one of {', '.join(TRAINERS)}, got {trainer!r}.")
    return trainer


def suffixed(name: str, trainer: str) -> str:
    """A family's pipeline name or folder for `trainer`: the Keras one ends in `-keras`."""
    return name if check(trainer) == ESTIMATOR else f"{name}-{trainer}"


def executor_class(trainer: str):
    """The Trainer's executor class for `trainer` (imports TFX's executor module)."""
    if check(trainer) == ESTIMATOR:
        from tfx.components.trainer import executor as estimator_executor

        return estimator_executor.Executor
    from tfx.components.trainer import executor as trainer_executor

    return trainer_executor.GenericExecutor


def module_entry(trainer: str, trainer_fn: str) -> dict:
    """The Trainer's user function: `trainer_fn` (Estimator) or the shared `run_fn` (Keras)."""
    return {"trainer_fn": trainer_fn} if check(trainer) == ESTIMATOR else {"run_fn": RUN_FN}


def evaluates_serving_model(trainer: str) -> bool:
    """Whether the Evaluator reads the serving model (Keras) or an EvalSavedModel."""
    return check(trainer) == KERAS
