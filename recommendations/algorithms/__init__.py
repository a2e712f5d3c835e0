"""Recommenders registered by name; importing this package registers them."""

from recommendations.algorithms import (  # noqa: F401
    content,
    deep,
    ease,
    factorization,
    knn,
    popularity,
    ranker,
)
from recommendations.algorithms.base import REGISTRY, Recommender, get_algorithm

__all__ = ["REGISTRY", "Recommender", "get_algorithm"]
