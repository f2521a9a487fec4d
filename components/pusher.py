"""Where the Pusher ships blessed models."""

from tfx.proto import pusher_pb2


def push_destination(serving_model_dir: str) -> pusher_pb2.PushDestination:
    """Returns a filesystem destination: one numbered version folder per push."""
    return pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)
    )
