"""Content-based similarity: TF-IDF over each item's title, categories, text.

Unlike the collaborative models it needs no interactions with an item, so a
new item nobody has seen yet can still be recommended next to similar ones.
"""

from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from recommendations.algorithms.base import (
    ItemWeightsExplainer,
    Recommender,
    register,
)
from recommendations.algorithms.knn import top_neighbours
from recommendations.dataset import InteractionData


def item_documents(item_features: pd.DataFrame, n_items: int) -> list[str]:
    """Join each item's title, category tokens and description into one text.

    Categories become single tokens ("cat_sci_fi"), repeated twice so that
    they weigh about as much as a short title.
    """
    if item_features.empty or len(item_features) != n_items:
        return [""] * n_items

    documents = []
    titles = item_features.get("title", pd.Series("", index=item_features.index))
    descriptions = item_features.get(
        "description", pd.Series("", index=item_features.index)
    )
    categories = item_features.get(
        "categories", pd.Series([[]] * n_items, index=item_features.index)
    )
    for title, description, cats in zip(
        titles.fillna(""), descriptions.fillna(""), categories, strict=True
    ):
        names = cats if isinstance(cats, list | tuple | np.ndarray) else []
        tokens = [category_token(name) for name in names]
        documents.append(" ".join([str(title), *tokens, *tokens, str(description)]))
    return documents


def category_token(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in str(name).lower())
    return f"cat_{cleaned}"


@register
class ContentTFIDF(ItemWeightsExplainer, Recommender):
    """Score items by the TF-IDF cosine similarity to the items a user saw.

    similarity_ keeps, for each item, its `neighbours` most similar items
    (an (n_items, n_items) CSR matrix, like item_knn's). Items with no
    interactions take part like any other.
    """

    name = "content"

    def __init__(self, neighbours: int = 200, min_df: int = 1) -> None:
        super().__init__(neighbours=neighbours, min_df=min_df)
        if neighbours < 1:
            raise ValueError(f"neighbours={neighbours} must be at least 1.")
        self.neighbours = neighbours
        self.min_df = min_df

    def fit(self, data: InteractionData) -> Self:
        documents = item_documents(data.item_features, data.n_items)
        vectors = self.vectorize(documents)
        self.similarity_ = top_neighbours(
            lambda columns: (vectors @ vectors[columns].T).toarray(),
            data.n_items,
            self.neighbours,
        )
        self.n_items_ = data.n_items
        return self

    def vectorize(self, documents: list[str]) -> sparse.csr_matrix:
        """Return L2-normalized TF-IDF rows; all-zero rows for empty texts."""
        if not any(text.strip() for text in documents):
            return sparse.csr_matrix((len(documents), 1), dtype=np.float32)
        vectorizer = TfidfVectorizer(
            min_df=self.min_df, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
        )
        try:
            vectors = vectorizer.fit_transform(documents)
        except ValueError:  # every token filtered out by min_df
            return sparse.csr_matrix((len(documents), 1), dtype=np.float32)
        return normalize(vectors).astype(np.float32).tocsr()

    def score(self, user_indices: np.ndarray, history: sparse.csr_matrix) -> np.ndarray:
        return (history.astype(np.float32) @ self.similarity_).toarray()

    def item_weights(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.similarity_[seen][:, items].toarray()

    def get_state(self) -> dict[str, Any]:
        return {"similarity_": self.similarity_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.similarity_ = state["similarity_"]
        self.n_items_ = self.similarity_.shape[0]
