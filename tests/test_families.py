"""Model families: each one loads, and one that is incomplete or inconsistent is refused
when the pipeline is built, with a message naming the family, the file and the key."""

import json
import shutil

import pytest

from modules.common import entry
from modules.common import tasks
from modules.common.contract import FamilyContract
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import pipeline as pipeline_lib

PROJECT_ROOT = config_lib.PROJECT_ROOT


@pytest.mark.parametrize("name", ["taxi", "reviews", "penguins", "taxi_fare"])
def test_each_family_loads_and_builds_a_pipeline_of_its_own(name, tmp_path):
    family = families.load(name)
    assert family.contract.name == name
    config = config_lib.local_config(str(tmp_path), family.sample_dir, family=name)
    assert config.pipeline_name == family.contract.pipeline_name
    assert config.serving_model_dir == str(tmp_path / "serving_model" / name)
    # The shared entry points, told the family by the Trainer's custom_config.
    assert config.trainer_fn == "modules.common.entry.trainer_fn"
    assert config.tuner_fn == "modules.common.entry.tuner_fn"
    assert config.schema_file == f"{PROJECT_ROOT}/data/{name}/schema.pbtxt"
    components = {c.id: c for c in pipeline_lib.create_pipeline(config).components}
    assert "Trainer" in components and "Pusher" in components
    trainer_config = json.loads(components["Trainer"].exec_properties["custom_config"])
    assert trainer_config[entry.FAMILY_KEY] == name


def test_families_are_listed():
    assert {"taxi", "reviews", "penguins", "taxi_fare"} <= set(families.available())
    assert families.COMMON not in families.available()


@pytest.fixture
def family_copy(tmp_path):
    """A copy of the reviews family under tmp_path, as `broken`, to break one file of."""
    modules_dir, data_dir = tmp_path / "modules", tmp_path / "data"
    shutil.copytree(f"{PROJECT_ROOT}/modules/reviews", modules_dir / "broken")
    shutil.copytree(f"{PROJECT_ROOT}/data/reviews", data_dir / "broken")
    contract = modules_dir / "broken" / "contract.py"
    contract.write_text(contract.read_text().replace('name="reviews"', 'name="broken"'))

    def load():
        return families.load("broken", modules_dir=str(modules_dir), data_dir=str(data_dir))

    return modules_dir / "broken", data_dir / "broken", load


def test_the_unchanged_copy_loads(family_copy):
    _, _, load = family_copy
    assert load().contract.name == "broken"


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_an_unknown_family_is_named_with_the_known_ones():
    with pytest.raises(
        families.FamilyError, match=r"Unknown model family 'penguin'.*families: .*reviews.*taxi"
    ):
        families.load("penguin")


def test_a_missing_preprocessing_fn_is_named(family_copy):
    modules_dir, _, load = family_copy
    _edit(modules_dir / "preprocessing.py", "def preprocessing_fn(", "def preprocess(")
    with pytest.raises(
        families.FamilyError,
        match=r"'broken'.*broken/preprocessing\.py defines no function "
        r"'preprocessing_fn'",
    ):
        load()


def test_without_trainer_and_tuner_files_the_shared_entry_points_serve(family_copy):
    _, _, load = family_copy
    family = load()
    assert family.trainer_fn_path == "modules.common.entry.trainer_fn"
    assert family.tuner_fn_path == "modules.common.entry.tuner_fn" and family.tunable
    assert callable(families.trainer_fn(family)) and callable(families.tuner_fn(family))


def test_a_missing_model_file_is_named(family_copy):
    modules_dir, _, load = family_copy
    (modules_dir / "model.py").unlink()
    with pytest.raises(families.FamilyError, match=r"'broken'.*broken/model\.py is missing"):
        load()


def test_a_schema_column_the_contract_lacks_is_named(family_copy):
    _, data_dir, load = family_copy
    with open(data_dir / "schema.pbtxt", "a") as schema:
        schema.write('feature { name: "rating" type: INT }\n')
    with pytest.raises(
        families.FamilyError,
        match=r"'broken'.*broken/schema\.pbtxt has columns \['rating'\] "
        r"that raw_columns",
    ):
        load()


def test_a_model_input_transform_does_not_produce_is_named(family_copy):
    modules_dir, _, load = family_copy
    _edit(modules_dir / "contract.py", 'TOKENS_KEY = "text_xf"', 'TOKENS_KEY = "tokens_xf"')
    _edit(modules_dir / "preprocessing.py", "contract.TOKENS_KEY: word_ids", '"text_xf": word_ids')
    with pytest.raises(
        families.FamilyError,
        match=r"'broken'.*broken/preprocessing\.py: preprocessing_fn does not "
        r"produce \['tokens_xf'\]",
    ):
        load()


def test_a_contract_that_is_not_a_family_contract_is_named(family_copy):
    modules_dir, _, load = family_copy
    _edit(modules_dir / "contract.py", "CONTRACT = FamilyContract(", "CONTRACT = dict(")
    with pytest.raises(families.FamilyError, match=r"'broken'.*contract\.py defines no CONTRACT"):
        load()


def test_an_inconsistent_contract_is_refused():
    with pytest.raises(ValueError, match=r"Family 'x': slice_columns names \['city'\]"):
        FamilyContract(
            name="x",
            pipeline_name="x",
            raw_columns=("a", "y"),
            numeric_columns=(),
            label_source_columns=("y",),
            label_key="y_xf",
            model_input_keys=("a_xf",),
            slice_columns=("city",),
            prediction_key="p",
            exporter_name="x",
            task=tasks.binary(bound=0.5, max_change=0.01),
            train_steps=1,
            default_hparams={},
            default_data="",
        )


def test_hparams_the_family_does_not_have_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"hparams names \['lstm_units'\].*'taxi'"):
        config_lib.local_config(str(tmp_path), "data/taxi/sample", hparams={"lstm_units": 8})


def test_the_shared_entry_finds_the_family_named_in_custom_config():
    contract, build_model = entry.family_parts({"family": "penguins"})
    assert contract is families.load("penguins").contract
    assert build_model is families.model_builder(families.load("penguins"))
    with pytest.raises(ValueError, match="custom_config names no 'family'"):
        entry.family_parts({"hparams": {}})


def test_a_family_s_own_trainer_file_is_used_when_it_has_one(family_copy):
    modules_dir, _, load = family_copy
    (modules_dir / "trainer.py").write_text(
        "from modules.common import estimator\n"
        "from . import contract, model\n"
        "trainer_fn = estimator.trainer_fn_for(contract.CONTRACT, model.build_from_transform)\n"
    )
    assert load().trainer_fn_path.endswith(".broken.trainer.trainer_fn")


def test_column_lists_come_from_the_schema_and_the_taxi_groups_cover_them():
    from modules.common.schema import schema_columns
    from modules.taxi import contract as taxi

    for name in ("taxi", "reviews", "penguins", "taxi_fare"):
        contract = families.load(name).contract
        columns = schema_columns(f"{PROJECT_ROOT}/data/{name}/schema.pbtxt")
        assert (contract.raw_columns, contract.numeric_columns) == (columns.raw, columns.numeric)
    # Each raw column the schema names has one role in the taxi family's groups.
    groups = (
        taxi.DENSE_FLOAT_FEATURES
        + taxi.BUCKET_FEATURES
        + taxi.VOCAB_FEATURES
        + taxi.CATEGORICAL_INT_FEATURES
        + tuple(taxi.IDENTITY_FEATURES)
        + taxi.LABEL_SOURCE_KEYS
        + taxi.UNUSED_COLUMNS
    )
    assert sorted(groups) == sorted(taxi.CONTRACT.raw_columns)
    assert set(taxi.CONTRACT.numeric_columns) == set(groups) - set(taxi.VOCAB_FEATURES)
