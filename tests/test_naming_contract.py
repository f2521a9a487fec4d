"""The naming contract, checked when a family loads, before any component runs.

A copy of the penguins family, broken in one file: the message names the family, the
file and the key. The real families pass (`test_families.py`).
"""

import shutil

import pytest
import tensorflow as tf

from modules.common import tasks
from modules.common.paths import PROJECT_ROOT
from pipeline.definition import families
from pipeline.definition import naming_contract


@pytest.fixture
def broken(tmp_path):
    """(the copy's module folder, its loader) of penguins copied as `broken`."""
    modules_dir, data_dir = tmp_path / "modules", tmp_path / "data"
    shutil.copytree(f"{PROJECT_ROOT}/modules/penguins", modules_dir / "broken")
    shutil.copytree(f"{PROJECT_ROOT}/data/penguins", data_dir / "broken")
    _edit(modules_dir / "broken" / "contract.py", 'name="penguins"', 'name="broken"')
    return modules_dir / "broken", lambda: families.load(
        "broken", modules_dir=str(modules_dir), data_dir=str(data_dir)
    )


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _refusal(load) -> str:
    with pytest.raises(families.FamilyError) as error:
        load()
    return str(error.value)


def test_the_unbroken_copy_loads(broken):
    _, load = broken
    assert load().contract.name == "broken"


def test_a_keras_input_of_another_dtype_is_named(broken):
    folder, load = broken
    _edit(folder / "model.py", "name=key, dtype=tf.int64)", "name=key, dtype=tf.float32)")
    message = _refusal(load)
    assert "Model family 'broken'" in message and "model.py" in message
    assert "the Keras Input 'island_xf' is float32, but preprocessing_fn makes it int64" in message


def test_a_keras_input_of_another_shape_is_named(broken):
    folder, load = broken
    _edit(
        folder / "model.py",
        "tf.keras.Input(shape=(), name=key, dtype=tf.float32)",
        "tf.keras.Input(shape=(1,), name=key, dtype=tf.float32)",
    )
    message = _refusal(load)
    assert (
        "the Keras Input 'bill_length_mm_xf' has shape [None, 1], but preprocessing_fn makes [None]"
    ) in message


def test_a_model_that_does_not_build_on_transform_outputs_is_named(broken):
    folder, load = broken
    _edit(folder / "model.py", "name=key, dtype=tf.float32)", "name=key, dtype=tf.int64)")
    message = _refusal(load)
    assert "model.py: the model does not build on Transform's outputs" in message


def test_a_keras_input_transform_does_not_make_is_named(broken):
    folder, load = broken
    # An input and an embedding for a column Transform does not make.
    _edit(
        folder / "model.py",
        "    columns = [tf.keras.layers.Reshape",
        "    inputs['colour_xf'] = tf.keras.Input(shape=(), name='colour_xf', dtype=tf.int64)\n"
        "    sizes = {**sizes, 'colour_xf': 3}\n"
        "    columns = [tf.keras.layers.Reshape",
    )
    _edit(
        folder / "model.py",
        "        for key in contract.CATEGORICAL_KEYS\n    ]",
        "        for key in contract.CATEGORICAL_KEYS + ('colour_xf',)\n    ]",
    )
    message = _refusal(load)
    assert "model.py" in message
    assert "the Keras Input 'colour_xf' is not an output of preprocessing_fn" in message


def test_an_output_the_trainer_would_refuse_is_named(broken):
    folder, load = broken
    _edit(
        folder / "preprocessing.py",
        "    return outputs",
        "    outputs['year_xf'] = tf.cast(dense(inputs['year'], 0), tf.float32)\n"
        "    return outputs",
    )
    message = _refusal(load)
    assert "preprocessing.py" in message
    assert "preprocessing_fn produces ['year_xf'], which no model input reads" in message


def test_a_string_label_is_named_before_tensorflow_meets_it(broken):
    folder, load = broken
    _edit(
        folder / "preprocessing.py",
        "outputs[contract.LABEL_KEY] = label(inputs, contract.CONTRACT)",
        "outputs[contract.LABEL_KEY] = dense(inputs['species'], '')",
    )
    message = _refusal(load)
    assert (
        "the label 'species_xf' is string; a multiclass model trains on an integer class id"
        in message
    )


def test_the_label_dtype_each_task_takes():
    def problems(kind, dtype):
        task = {
            tasks.BINARY: tasks.binary(0.6, 0.1),
            tasks.REGRESSION: tasks.regression(1, 1),
            tasks.MULTICLASS: tasks.multiclass("abc", 0.5, 0.1),
        }[kind]
        contract = families.load("penguins").contract
        import dataclasses

        contract = dataclasses.replace(contract, task=task)
        outputs = {key: (tf.float32, tf.TensorShape([None])) for key in contract.model_input_keys}
        outputs[contract.label_key] = (dtype, tf.TensorShape([None]))
        return naming_contract.output_problems(contract, outputs)

    assert problems(tasks.BINARY, tf.int64) == problems(tasks.REGRESSION, tf.float32) == []
    assert problems(tasks.REGRESSION, tf.int64) == []
    assert problems(tasks.BINARY, tf.float32) and problems(tasks.MULTICLASS, tf.string)
    assert problems(tasks.REGRESSION, tf.string)


def test_the_stand_in_transform_output_gives_sizes_and_the_feature_spec():
    stand_in = naming_contract.StandInTransformOutput(
        {
            "a_xf": (tf.int64, tf.TensorShape([None])),
            "t_xf": (tf.int64, tf.TensorShape([None, 200])),
        }
    )
    assert stand_in.num_buckets_for_transformed_feature("a_xf") == stand_in.SIZE
    assert stand_in.vocabulary_size_by_name("anything") == stand_in.SIZE
    assert stand_in.transformed_feature_spec()["t_xf"] == tf.io.FixedLenFeature([200], tf.int64)
    with pytest.raises(ValueError, match="no output 'b_xf'"):
        stand_in.num_buckets_for_transformed_feature("b_xf")
