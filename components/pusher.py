"""Where the Pusher ships blessed models."""

from tfx import v1 as tfx


def push_destination(serving_model_dir: str) -> tfx.proto.PushDestination:
    """Returns a filesystem destination: one numbered version folder per push."""
    return tfx.proto.PushDestination(
        filesystem=tfx.proto.PushDestination.Filesystem(
            base_directory=serving_model_dir
        )
    )
