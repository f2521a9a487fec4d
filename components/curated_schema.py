"""CuratedSchema: TFX's ImportSchemaGen with the schema's contents in its cache key.

ImportSchemaGen's only parameter is the schema file's path, so after an edit of the
file (what the data gate tells a user to do) TFX's cache would serve the old schema,
and every component after it, again. A digest of the contents as a second parameter
makes an edited schema a new execution, locally and on Kubeflow.
"""

from tfx import types
from tfx.components.schema_gen.import_schema_gen import executor
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs


class CuratedSchemaSpec(component_spec.ComponentSpec):
    """ImportSchemaGen's spec plus the digest of the file's contents."""

    PARAMETERS = {
        **standard_component_specs.ImportSchemaGenSpec.PARAMETERS,
        "schema_digest": component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {}
    OUTPUTS = standard_component_specs.ImportSchemaGenSpec.OUTPUTS


class CuratedSchema(base_component.BaseComponent):
    """Imports the curated schema file; ImportSchemaGen's executor does the copy."""

    SPEC_CLASS = CuratedSchemaSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, schema_file: str, digest: str):
        """Builds the importer.

        Args:
          schema_file: the schema's path where the component runs.
          digest: a digest of the file's contents, computed where the pipeline is
            built (on Kubeflow, of the project file that the image holds).
        """
        super().__init__(
            spec=CuratedSchemaSpec(
                schema_file=schema_file,
                schema_digest=digest,
                schema=types.Channel(type=standard_artifacts.Schema),
            )
        )
