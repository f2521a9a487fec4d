"""How ExampleGen splits the raw rows into train and eval."""

from tfx.proto import example_gen_pb2

# Hash buckets per split: two thirds of the rows train, one third evaluates.
SPLIT_BUCKETS = {"train": 2, "eval": 1}


def split_config() -> example_gen_pb2.Output:
    """Returns ExampleGen's output config: a hash split into train and eval."""
    return example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
                for name, buckets in SPLIT_BUCKETS.items()
            ]
        )
    )
