"""The Keras graph of the deep recommender. Importing it imports TensorFlow.

Only built-in layers are used, so a saved model loads with
keras.models.load_model without importing this module.
"""

import keras
import numpy as np
from keras import layers


def build_network(
    *,
    n_users: int,
    categories: np.ndarray,
    vocabulary_sizes: dict[str, int],
    embedding_dim: int,
    feature_dim: int,
    hidden_units: list[int],
    learning_rate: float,
    l2: float,
) -> keras.Model:
    """Return the compiled training model over the three named sub-models.

    Inputs are the user index, the item index and one code per user feature.
    The sub-models user_tower, item_tower and scorer are reachable with
    get_layer, so the recommender can compute user and item vectors once and
    read the scorer's weights for its NumPy forward pass.
    """
    regularizer = keras.regularizers.L2(l2)
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")
    codes = {
        feature: keras.Input(shape=(), dtype="int32", name=feature)
        for feature in vocabulary_sizes
    }
    user_embedding = layers.Embedding(
        max(n_users, 1),
        embedding_dim,
        embeddings_regularizer=regularizer,
        name="user_embedding",
    )(user)

    user_tower = build_user_tower(vocabulary_sizes, embedding_dim, feature_dim)
    item_tower = build_item_tower(categories, embedding_dim, feature_dim, regularizer)
    scorer = build_scorer(embedding_dim, hidden_units)
    user_vector = user_tower([user_embedding, *codes.values()])
    logit = scorer([user_vector, item_tower(item)])

    model = keras.Model([user, item, *codes.values()], logit, name="deep")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        jit_compile=False,
    )
    return model


def build_user_tower(vocabulary_sizes, embedding_dim: int, feature_dim: int):
    """Map an id embedding and feature codes to a user vector."""
    embedding = keras.Input(shape=(embedding_dim,), name="user_id_vector")
    codes = [
        keras.Input(shape=(), dtype="int32", name=f"{feature}_code")
        for feature in vocabulary_sizes
    ]
    feature_vectors = [
        layers.Embedding(size, feature_dim, name=f"{feature}_embedding")(code)
        for code, (feature, size) in zip(codes, vocabulary_sizes.items(), strict=True)
    ]
    joined = layers.Concatenate()([embedding, *feature_vectors])
    vector = layers.Dense(embedding_dim, name="user_projection")(joined)
    return keras.Model([embedding, *codes], vector, name="user_tower")


def build_item_tower(categories: np.ndarray, embedding_dim, feature_dim, regularizer):
    """Map an item index to an item vector from its id and its categories."""
    item = keras.Input(shape=(), dtype="int32", name="item_index")
    n_items = max(len(categories), 1)
    id_vector = layers.Embedding(
        n_items,
        embedding_dim,
        embeddings_regularizer=regularizer,
        name="item_embedding",
    )(item)
    category_table = layers.Embedding(
        n_items,
        categories.shape[1],
        trainable=False,
        name="item_categories",
    )
    multi_hot = category_table(item)
    category_vector = layers.Dense(feature_dim, name="category_projection")(multi_hot)
    joined = layers.Concatenate()([id_vector, category_vector])
    vector = layers.Dense(embedding_dim, name="item_projection")(joined)
    tower = keras.Model(item, vector, name="item_tower")
    if len(categories):
        category_table.set_weights([categories])
    return tower


def build_scorer(embedding_dim: int, hidden_units: list[int]):
    """Map a user vector and an item vector to a logit through an MLP."""
    user = keras.Input(shape=(embedding_dim,), name="user_vector")
    item = keras.Input(shape=(embedding_dim,), name="item_vector")
    hidden = layers.Concatenate()([user, item, layers.Multiply()([user, item])])
    for position, units in enumerate(hidden_units):
        hidden = layers.Dense(units, activation="relu", name=f"hidden_{position}")(
            hidden
        )
    logit = layers.Dense(1, name="logit")(hidden)
    return keras.Model([user, item], logit, name="scorer")
