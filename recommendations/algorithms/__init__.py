"""Recommenders registered by name; importing this package registers them."""

from recommendations.algorithms import deep, knn, popularity  # noqa: F401
from recommendations.algorithms.base import REGISTRY, Recommender, get_algorithm

__all__ = ["REGISTRY", "Recommender", "get_algorithm"]
