"""Model families: finding one by name, and refusing one that is incomplete.

A family is the folder `modules/<name>/` (see `modules.common.contract`) with its data
under `data/<name>/`. `load` checks, before any component runs, that the folder holds
what the pipeline will ask of it, and names the family, the file and the key when not.
"""

import dataclasses
import hashlib
import importlib
import os
import sys
import types
from typing import List

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from modules.common import entry
from modules.common import schema as schema_lib
from modules.common.contract import FamilyContract
from modules.common.paths import PROJECT_ROOT

MODULES_DIR = os.path.join(PROJECT_ROOT, "modules")
DATA_DIR = os.path.join(PROJECT_ROOT, "data")
# The folder under modules/ that every family shares; it is no family itself.
COMMON = "common"
DEFAULT_FAMILY = "taxi"


class FamilyError(ValueError):
    """A model family that the pipeline cannot run; the message names file and key."""


@dataclasses.dataclass(frozen=True)
class Family:
    """A loaded family: its contract and the files the pipeline hands to TFX."""

    contract: FamilyContract
    module_dir: str
    schema_file: str
    sample_dir: str

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def preprocessing_module(self) -> str:
        """The file defining Transform's `preprocessing_fn`."""
        return os.path.join(self.module_dir, "preprocessing.py")

    @property
    def trainer_module(self) -> str:
        """The file defining the Trainer's `trainer_fn`."""
        return os.path.join(self.module_dir, "trainer.py")

    @property
    def tuner_module(self) -> str:
        """The file defining the Tuner's `tuner_fn`, or "" for a family without one."""
        path = os.path.join(self.module_dir, "tuner.py")
        return path if os.path.isfile(path) else ""

    @property
    def trainer_fn_path(self) -> str:
        """The dotted path of the Trainer's `trainer_fn`: the family's `trainer.py`, if
        it has one, else the shared entry (`modules.common.entry`)."""
        if os.path.isfile(self.trainer_module):
            return self.function_path("trainer", "trainer_fn")
        return entry.TRAINER_FN

    @property
    def tunable(self) -> bool:
        """Whether the family can be tuned: a `tuner.py`, or a search space."""
        return bool(self.tuner_module or self.contract.search_space)

    @property
    def tuner_fn_path(self) -> str:
        """The dotted path of the Tuner's `tuner_fn` ("" for a family without one)."""
        if self.tuner_module:
            return self.function_path("tuner", "tuner_fn")
        return entry.TUNER_FN if self.contract.search_space else ""

    def function_path(self, module: str, function: str) -> str:
        """The dotted path by which TFX imports a function of the family's folder.

        TFX's components take `preprocessing_fn`, `trainer_fn` and `tuner_fn` as such
        paths and import them where they run, from the project's root on the Python
        path (this checkout locally, the image's project folder on Kubeflow): nothing
        is packaged, and nothing is read when the pipeline is built.
        """
        package = os.path.basename(os.path.dirname(os.path.normpath(self.module_dir)))
        return f"{package}.{self.name}.{module}.{function}"


def available(modules_dir: str = MODULES_DIR) -> List[str]:
    """Returns the names of the families under `modules_dir`."""
    return sorted(
        name
        for name in os.listdir(modules_dir)
        if name != COMMON and os.path.isfile(os.path.join(modules_dir, name, "contract.py"))
    )


def _relative(path: str) -> str:
    """The path as a user knows it: relative to the project, when it is inside."""
    relative = os.path.relpath(path, PROJECT_ROOT)
    return path if relative.startswith("..") else relative


def _package(name: str, modules_dir: str) -> str:
    """The dotted name of the family's package: `modules.<name>` for the project's.

    Another folder of families (a test's copy) becomes a package of its own, named
    after its path, so that its files' relative imports (`from . import contract`)
    find their siblings there too.
    """
    if os.path.realpath(modules_dir) == os.path.realpath(MODULES_DIR):
        return f"modules.{name}"
    root = "_families_" + hashlib.sha256(os.path.realpath(modules_dir).encode()).hexdigest()[:12]
    if root not in sys.modules:
        package = types.ModuleType(root)
        package.__path__ = [modules_dir]
        sys.modules[root] = package
    return f"{root}.{name}"


def _forget(package: str) -> None:
    """Drops the package's modules from the import cache: edited files are read again."""
    for module_name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[module_name]
    importlib.invalidate_caches()


def _module(name: str, path: str):
    """Imports a family's file as a module of its package (as TFX imports it by path)."""
    if not os.path.isfile(path):
        raise FamilyError(f"Model family {name!r}: {_relative(path)} is missing.")
    module_dir = os.path.dirname(path)
    package = _package(name, os.path.dirname(module_dir))
    file_module = os.path.splitext(os.path.basename(path))[0]
    return importlib.import_module(f"{package}.{file_module}")


def _function(name: str, path: str, function: str):
    value = getattr(_module(name, path), function, None)
    if not callable(value):
        raise FamilyError(
            f"Model family {name!r}: {_relative(path)} defines no function {function!r}."
        )
    return value


def _load_schema(name: str, path: str) -> schema_pb2.Schema:
    if not os.path.isfile(path):
        raise FamilyError(
            f"Model family {name!r}: its curated schema {_relative(path)} is missing."
        )
    try:
        return schema_lib.load_schema(path)
    except text_format.ParseError as error:
        raise FamilyError(f"Model family {name!r}: {_relative(path)}: {error}") from None


def _check_schema(contract: FamilyContract, schema: schema_pb2.Schema, path: str) -> None:
    in_schema = {feature.name for feature in schema.feature}
    lacking = sorted(in_schema - set(contract.raw_columns))
    undescribed = sorted(set(contract.raw_columns) - in_schema)
    where = f"Model family {contract.name!r}: {_relative(path)}"
    if lacking:
        raise FamilyError(
            f"{where} has columns {lacking} that raw_columns in the family's contract.py lacks."
        )
    if undescribed:
        raise FamilyError(
            f"{where} does not describe the raw_columns {undescribed} of the family's contract.py."
        )


def _check_naming_contract(family: Family, preprocessing_fn, schema: schema_pb2.Schema) -> None:
    """Transform's outputs against the contract, the task and the Keras model's inputs.

    `preprocessing_fn` is traced on the schema's columns (no data, no analyzer runs);
    the model is built with stand-in vocabulary sizes (`naming_contract`).
    """
    # Imported here: TF and TFT load only once a family is actually checked.
    from tensorflow_transform.tf_metadata import schema_utils

    from pipeline.definition import naming_contract

    contract = family.contract
    feature_spec = schema_utils.schema_as_feature_spec(schema).feature_spec
    outputs = naming_contract.trace(preprocessing_fn, feature_spec)
    where = f"Model family {contract.name!r}: {_relative(family.preprocessing_module)}"
    problems = naming_contract.output_problems(contract, outputs)
    if problems:
        raise FamilyError(f"{where}: " + "; ".join(problems) + ".")
    model_file = os.path.join(family.module_dir, "model.py")
    if os.path.isfile(model_file):
        problems = naming_contract.model_problems(
            model_builder(family), contract.hparam_defaults, outputs
        )
        if problems:
            raise FamilyError(
                f"Model family {contract.name!r}: {_relative(model_file)}: "
                + "; ".join(problems)
                + "."
            )


def module_of(family: Family, file: str):
    """The family's file `file` (`preprocessing`, `model`, ...) as an imported module."""
    return _module(family.name, os.path.join(family.module_dir, f"{file}.py"))


def model_builder(family: Family):
    """Returns the family's `build_from_transform(tf_transform_output, hparams)`.

    The same builder its `trainer_fn` hands the shared Estimator code, for tools that
    train the Keras model natively (the benchmark's reference).
    """
    return _function(
        family.name, os.path.join(family.module_dir, "model.py"), "build_from_transform"
    )


def trainer_fn(family: Family):
    """Returns the family's `trainer_fn(fn_args, schema)` (its own, or the shared one's)."""
    if os.path.isfile(family.trainer_module):
        return _function(family.name, family.trainer_module, "trainer_fn")
    from modules.common import estimator

    return estimator.trainer_fn_for(family.contract, model_builder(family))


def tuner_fn(family: Family):
    """Returns the family's `tuner_fn(fn_args)`.

    Raises:
      FamilyError: the family has neither a `tuner.py` nor a search space.
    """
    if family.tuner_module:
        return _function(family.name, family.tuner_module, "tuner_fn")
    if not family.tunable:
        raise FamilyError(
            f"Model family {family.name!r} has no search_space in its "
            "contract.py (nor a tuner.py): it cannot be tuned."
        )
    from modules.common import tuning

    return tuning.tuner_fn_for(family.contract, model_builder(family))


def _files_state(*folders_and_files: str) -> tuple:
    """(path, size, modification time) of each file: what a loaded family depends on."""
    state = []
    for top in folders_and_files:
        paths = (
            [top]
            if os.path.isfile(top)
            else sorted(
                os.path.join(root, name)
                for root, dirs, names in os.walk(top)
                for name in names
                if not name.endswith(".pyc")
            )
        )
        for path in paths:
            stat = os.stat(path)
            state.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(state)


def load(name: str, modules_dir: str = MODULES_DIR, data_dir: str = DATA_DIR) -> Family:
    """Returns the family `name`, checked; loaded once per process while its files stay.

    Loading imports the family's files and traces its `preprocessing_fn` (see
    `_load`); a process that asks again for a family whose files have not changed
    gets the same `Family`.
    """
    state = (
        _files_state(
            os.path.join(modules_dir, name),
            os.path.join(modules_dir, COMMON),
            os.path.join(data_dir, name, "schema.pbtxt"),
        )
        if os.path.isdir(os.path.join(modules_dir, name))
        else ()
    )
    key = (name, modules_dir, data_dir)
    cached = _LOADED.get(key)
    if cached is not None and cached[0] == state:
        return cached[1]
    if cached is not None:
        _forget(_package(name, modules_dir))
    family = _load(name, modules_dir, data_dir)
    _LOADED[key] = (state, family)
    return family


# (name, modules_dir, data_dir) -> (the files' state when loaded, the family).
_LOADED = {}


def _load(name: str, modules_dir: str, data_dir: str) -> Family:
    """Returns the family `name`, checked for what the pipeline needs of it.

    Args:
      name: the family, a folder of `modules_dir`.
      modules_dir, data_dir: where families and their data live (the project's
        `modules/` and `data/`).

    Raises:
      FamilyError: no such family; its contract, `preprocessing_fn` or `trainer_fn`
        is missing, or its `tuner.py` defines no `tuner_fn`; its schema is missing or
        disagrees with the contract's columns; or Transform would not produce a model
        input or the label the contract names.
    """
    module_dir = os.path.join(modules_dir, name)
    contract_file = os.path.join(module_dir, "contract.py")
    if not name.isidentifier() or name == COMMON or not os.path.isfile(contract_file):
        raise FamilyError(
            f"Unknown model family {name!r}: there is no {_relative(contract_file)}; "
            f"families: {', '.join(available(modules_dir))}."
        )
    contract = getattr(_module(name, contract_file), "CONTRACT", None)
    if not isinstance(contract, FamilyContract):
        raise FamilyError(
            f"Model family {name!r}: {_relative(contract_file)} defines no "
            "CONTRACT of type modules.common.contract.FamilyContract."
        )
    if contract.name != name:
        raise FamilyError(
            f"Model family {name!r}: {_relative(contract_file)} names its "
            f"family {contract.name!r}; the name must be its folder's."
        )
    family = Family(
        contract=contract,
        module_dir=module_dir,
        schema_file=os.path.join(data_dir, name, "schema.pbtxt"),
        sample_dir=os.path.join(data_dir, name, "sample"),
    )
    preprocessing_fn = _function(name, family.preprocessing_module, "preprocessing_fn")
    if os.path.isfile(family.trainer_module):
        _function(name, family.trainer_module, "trainer_fn")
    else:
        _function(name, os.path.join(module_dir, "model.py"), "build_from_transform")
    if family.tuner_module:
        _function(name, family.tuner_module, "tuner_fn")
    schema = _load_schema(name, family.schema_file)
    _check_schema(contract, schema, family.schema_file)
    _check_naming_contract(family, preprocessing_fn, schema)
    return family
