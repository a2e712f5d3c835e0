"""A neural recommender in Keras: embeddings and side features through an MLP.

TensorFlow takes seconds to import, so this module imports it only inside
fit and load. Scoring runs in NumPy on weights read from the Keras model, so
a request costs no TensorFlow call.
"""

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import lsqr
from threadpoolctl import ThreadpoolController

from recommendations.algorithms.base import PARAMS_FILE, Recommender, register
from recommendations.algorithms.deep_features import (
    UNKNOWN,
    USER_FEATURES,
    category_vocabulary,
    encode_categories,
    encode_users,
    row_normalize,
    sample_negatives,
    user_vocabulary,
)
from recommendations.dataset import InteractionData

logger = logging.getLogger(__name__)

KERAS_FILE = "model.keras"
STATE_FILE = "state.npz"
VOCABULARY_FILE = "vocabulary.json"
# Users times items scored at once. With the default 64 units in the first
# hidden layer, a chunk's activations take 200,000 x 64 float32 values, 51 MB.
SCORE_CHUNK_PAIRS = 200_000
# Batches up to this many users are scored with one BLAS thread. For one
# user, multi-threaded OpenBLAS took 32 ms instead of 0.65 ms on a busy
# 2-core machine (benchmarks/deep_movielens.py), because its threads wait
# for cores that other processes hold.
SINGLE_THREAD_USERS = 8
_threadpools = ThreadpoolController()
# A training of at most this many batches runs eagerly. Tracing the step
# into a graph took 2 to 4 s on a 2-core machine, and 17 eager steps of the
# test data took less; the cut-off of 32 is an estimate.
EAGER_MAX_STEPS = 32
# Ridge damping and iteration cap of the fold-in least squares. 100 LSQR
# iterations take about 0.02 s per embedding column on MovieLens 100K.
FOLD_IN_DAMPING = 0.01
FOLD_IN_ITERATIONS = 100


@register
class DeepRecommender(Recommender):
    """Neural collaborative filtering with user and item side features.

    The user tower projects a user id embedding joined with embeddings of
    the age band, gender and occupation. The item tower projects an item id
    embedding joined with a dense map of the item's categories. An MLP over
    both vectors and their elementwise product returns a logit. Training
    minimizes binary cross-entropy over every positive pair and `negatives`
    items drawn uniformly per positive, fresh in each epoch.

    A user the model was not trained on (index -1, or one beyond the trained
    users) gets a user vector folded in from their history. The fold-in is a
    linear map, fitted by least squares to reproduce the training users'
    vectors from their histories. Each user feature is replaced by the unknown code with
    probability `feature_dropout` in training, so missing features have a
    learned embedding.
    """

    name = "deep"

    def __init__(
        self,
        embedding_dim: int = 32,
        feature_dim: int = 8,
        hidden_units: list[int] | tuple[int, ...] = (64, 32),
        negatives: int = 4,
        epochs: int = 6,
        batch_size: int = 2048,
        learning_rate: float = 0.004,
        l2: float = 1e-6,
        feature_dropout: float = 0.1,
        random_state: int = 0,
    ) -> None:
        hidden_units = [int(units) for units in hidden_units]
        super().__init__(
            embedding_dim=embedding_dim,
            feature_dim=feature_dim,
            hidden_units=hidden_units,
            negatives=negatives,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            l2=l2,
            feature_dropout=feature_dropout,
            random_state=random_state,
        )
        check_hyperparameters(self.params)
        self.embedding_dim = embedding_dim
        self.feature_dim = feature_dim
        self.hidden_units = hidden_units
        self.negatives = negatives
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.feature_dropout = feature_dropout
        self.random_state = random_state

    def fit(self, data: InteractionData) -> Self:
        keras = import_keras()
        keras.utils.set_random_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        started = time.perf_counter()

        self.vocabulary_ = {
            **user_vocabulary(data.user_features),
            "categories": category_vocabulary(data.item_features),
        }
        self.user_codes_ = encode_users(data.user_features, self.vocabulary_)
        categories = encode_categories(
            data.item_features, self.vocabulary_["categories"]
        )
        self.n_items_ = data.n_items
        self.model_ = self._build(data.n_users, categories)
        self.trained_ = data.n_interactions > 0
        if self.trained_:
            self._train(data.matrix, rng)

        self._read_weights()
        self._fit_fold_in(data.matrix)
        logger.info(
            "Fitted %s on %s interactions of %s users in %.1f s",
            self.name,
            data.n_interactions,
            data.n_users,
            time.perf_counter() - started,
        )
        return self

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        self._check_fitted()
        user_indices = np.asarray(user_indices, dtype=np.int64)
        scores = np.zeros((len(user_indices), self.n_items_), dtype=np.float32)
        if not self.trained_ or not len(user_indices) or not self.n_items_:
            return scores

        user_vectors = self._user_vectors(user_indices, sparse.csr_matrix(history))
        if len(user_indices) <= SINGLE_THREAD_USERS:
            with _threadpools.limit(limits=1, user_api="blas"):
                return mlp_logits(
                    user_vectors, self.item_vectors_, self.scorer_weights_
                )

        chunk = max(1, SCORE_CHUNK_PAIRS // self.n_items_)
        for start in range(0, len(user_indices), chunk):
            stop = start + chunk
            scores[start:stop] = mlp_logits(
                user_vectors[start:stop], self.item_vectors_, self.scorer_weights_
            )
        return scores

    def save(self, directory: Path) -> None:
        self._check_fitted()
        directory.mkdir(parents=True, exist_ok=True)
        self.model_.save(directory / KERAS_FILE)
        np.savez(
            directory / STATE_FILE,
            user_codes_=self.user_codes_,
            item_fold_in_=self.item_fold_in_,
            fold_in_bias_=self.fold_in_bias_,
            trained_=np.asarray(self.trained_),
        )
        (directory / VOCABULARY_FILE).write_text(json.dumps(self.vocabulary_))
        (directory / PARAMS_FILE).write_text(
            json.dumps({"name": self.name, "params": self.get_params()})
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        keras = import_keras()
        meta = json.loads((directory / PARAMS_FILE).read_text())
        model = cls(**meta["params"])
        model.model_ = keras.models.load_model(directory / KERAS_FILE, compile=False)
        model.vocabulary_ = json.loads((directory / VOCABULARY_FILE).read_text())
        with np.load(directory / STATE_FILE, allow_pickle=False) as state:
            model.user_codes_ = state["user_codes_"]
            model.item_fold_in_ = state["item_fold_in_"]
            model.fold_in_bias_ = state["fold_in_bias_"]
            model.trained_ = bool(state["trained_"])
        model.n_items_ = len(model.item_fold_in_)
        model._read_weights()
        return model

    def get_state(self) -> dict[str, Any]:
        """Return the learned arrays that scoring uses, for checks such as NaN.

        save writes the Keras model itself, so load does not need set_state.
        """
        self._check_fitted()
        state = {
            "user_vectors_": self.user_vectors_,
            "item_vectors_": self.item_vectors_,
            "item_fold_in_": self.item_fold_in_,
            "fold_in_bias_": self.fold_in_bias_,
        }
        for position, (kernel, bias) in enumerate(self.scorer_weights_):
            state[f"scorer_kernel_{position}"] = kernel
            state[f"scorer_bias_{position}"] = bias
        return state

    def _build(self, n_users: int, categories: np.ndarray):
        from recommendations.algorithms.deep_network import build_network

        return build_network(
            n_users=n_users,
            categories=categories,
            vocabulary_sizes={
                feature: len(self.vocabulary_[feature]) + 1 for feature in USER_FEATURES
            },
            embedding_dim=self.embedding_dim,
            feature_dim=self.feature_dim,
            hidden_units=self.hidden_units,
            learning_rate=self.learning_rate,
            l2=self.l2,
        )

    def _train(self, matrix: sparse.csr_matrix, rng: np.random.Generator) -> None:
        coo = matrix.tocoo()
        users = coo.row.astype(np.int32)
        items = coo.col.astype(np.int32)
        positive_keys = np.sort(users.astype(np.int64) * self.n_items_ + items)
        epoch_size = len(users) * (1 + self.negatives)
        steps = -(-epoch_size // self.batch_size) * self.epochs
        self.model_.run_eagerly = steps <= EAGER_MAX_STEPS

        for epoch in range(self.epochs):
            started = time.perf_counter()
            inputs, labels = self._epoch_examples(users, items, positive_keys, rng)
            history = self.model_.fit(
                inputs,
                labels,
                batch_size=self.batch_size,
                epochs=1,
                shuffle=True,
                verbose=0,
            )
            logger.debug(
                "Epoch %s of %s: loss %.4f on %s examples in %.1f s",
                epoch + 1,
                self.epochs,
                history.history["loss"][-1],
                epoch_size,
                time.perf_counter() - started,
            )

    def _epoch_examples(self, users, items, positive_keys, rng):
        """Return one epoch's inputs and labels: all positives, fresh negatives."""
        negative_users = np.repeat(users, self.negatives)
        negative_items = sample_negatives(
            negative_users, positive_keys, self.n_items_, rng
        )
        all_users = np.concatenate([users, negative_users])
        labels = np.zeros((len(all_users), 1), dtype=np.float32)
        labels[: len(users)] = 1.0

        codes = self.user_codes_[all_users]
        codes[rng.random(codes.shape) < self.feature_dropout] = UNKNOWN
        inputs = {"user": all_users, "item": np.concatenate([items, negative_items])}
        for column, feature in enumerate(USER_FEATURES):
            inputs[feature] = codes[:, column]
        return inputs, labels

    def _read_weights(self) -> None:
        """Compute every known user's and item's vector and copy the MLP weights.

        The towers run eagerly, once over all users and once over all items,
        which costs less than tracing a predict function.
        """
        user_tower = self.model_.get_layer("user_tower")
        item_tower = self.model_.get_layer("item_tower")
        embeddings = self.model_.get_layer("user_embedding").get_weights()[0]
        n_users = len(self.user_codes_)
        self.user_vectors_ = np.zeros((n_users, self.embedding_dim), np.float32)
        if n_users:
            inputs = [embeddings[:n_users], *np.ascontiguousarray(self.user_codes_.T)]
            self.user_vectors_ = np.asarray(user_tower(inputs, training=False))
        items = np.arange(self.n_items_, dtype=np.int32)
        self.item_vectors_ = np.zeros((0, self.embedding_dim), np.float32)
        if self.n_items_:
            self.item_vectors_ = np.asarray(item_tower(items, training=False))

        scorer = self.model_.get_layer("scorer")
        names = [f"hidden_{position}" for position in range(len(self.hidden_units))]
        self.scorer_weights_ = [
            tuple(scorer.get_layer(name).get_weights()) for name in [*names, "logit"]
        ]

    def _fit_fold_in(self, matrix: sparse.csr_matrix) -> None:
        """Fit the linear map from a history to a user vector, for new users.

        item_fold_in_ solves min ||M W - (U - u0)||^2 + damping^2 ||W||^2
        column by column. M contains each training user's history row
        divided by its length, U the training users' vectors and u0 their
        mean. A new user's vector is u0 plus the mean of W over their items.
        """
        vectors = self.user_vectors_
        self.fold_in_bias_ = np.zeros(self.embedding_dim, np.float32)
        if len(vectors):
            self.fold_in_bias_ = vectors.mean(axis=0).astype(np.float32)
        self.item_fold_in_ = np.zeros((self.n_items_, self.embedding_dim), np.float32)
        means = row_normalize(matrix)
        if not means.nnz:
            return

        targets = vectors - self.fold_in_bias_
        for column in range(self.embedding_dim):
            solution = lsqr(
                means,
                targets[:, column],
                damp=FOLD_IN_DAMPING,
                iter_lim=FOLD_IN_ITERATIONS,
            )[0]
            self.item_fold_in_[:, column] = solution

    def _user_vectors(self, user_indices: np.ndarray, history) -> np.ndarray:
        """Return stored vectors of known users and folded-in ones of the rest."""
        known = (user_indices >= 0) & (user_indices < len(self.user_vectors_))
        vectors = np.empty((len(user_indices), self.embedding_dim), np.float32)
        vectors[known] = self.user_vectors_[user_indices[known]]
        if not known.all():
            unknown_history = row_normalize(history[np.flatnonzero(~known)])
            vectors[~known] = unknown_history @ self.item_fold_in_ + self.fold_in_bias_
        return vectors


def mlp_logits(user_vectors, item_vectors, weights) -> np.ndarray:
    """Return the scorer MLP's logits for every user and item, shape (B, n).

    The first layer's input is [u, v, u * v]. Its kernel is split into the
    three blocks, and (u * v) @ K is computed as v @ (u[:, None] * K) for all
    users in one matrix product, so no (B * n, 3d) input matrix is built.
    """
    (kernel, bias), *rest = weights
    n_users, dim = user_vectors.shape
    n_items, units = len(item_vectors), kernel.shape[1]
    user_part = user_vectors @ kernel[:dim] + bias
    item_part = item_vectors @ kernel[dim : 2 * dim]
    product_kernels = user_vectors[:, :, None] * kernel[None, 2 * dim :]
    product_kernels = product_kernels.transpose(1, 0, 2).reshape(dim, -1)
    products = (item_vectors @ product_kernels).reshape(n_items, n_users, units)

    hidden = products.transpose(1, 0, 2) + item_part[None] + user_part[:, None]
    np.maximum(hidden, 0, out=hidden)
    hidden = hidden.reshape(-1, units)
    for kernel, bias in rest[:-1]:
        hidden = np.maximum(hidden @ kernel + bias, 0)
    kernel, bias = rest[-1]
    return (hidden @ kernel + bias).reshape(n_users, n_items)


def check_hyperparameters(params: dict[str, Any]) -> None:
    """Raise ValueError naming the first hyperparameter out of range."""
    for key in ("embedding_dim", "feature_dim", "negatives", "epochs", "batch_size"):
        if int(params[key]) < 1:
            raise ValueError(f"{key}={params[key]} must be at least 1.")
    if not params["hidden_units"] or min(params["hidden_units"]) < 1:
        raise ValueError(
            f"hidden_units={params['hidden_units']} must list at least one "
            "layer size, each at least 1."
        )
    for key in ("learning_rate", "l2", "feature_dropout"):
        value = float(params[key])
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{key}={params[key]} must be a finite value >= 0.")
    if params["learning_rate"] <= 0 or params["feature_dropout"] >= 1:
        raise ValueError(
            "learning_rate must be above 0 and feature_dropout below 1, got "
            f"{params['learning_rate']} and {params['feature_dropout']}."
        )


def import_keras():
    """Import Keras on TensorFlow with its logging quiet and threads bounded."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    threads = tensorflow_threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        # Independent ops run one at a time, so the process uses at most
        # `threads` cores instead of two pools of that size.
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        # TensorFlow fixes its thread pools once it has run an op, so a
        # second model in the same process keeps the first one's settings.
        pass
    return keras


def tensorflow_threads() -> int:
    """Return the thread count from ATTUNE_TF_THREADS, or the usable CPUs."""
    value = os.environ.get("ATTUNE_TF_THREADS", "")
    if not value:
        return len(os.sched_getaffinity(0))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"ATTUNE_TF_THREADS={value!r} is invalid: set a whole number of "
            "threads of at least 1, or unset it to use every available CPU."
        )
    return int(value)
