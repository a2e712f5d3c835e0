"""Offline evaluation: splits, ranking metrics and the loop over algorithms."""

from recommendations.evaluation.metrics import ranking_metrics
from recommendations.evaluation.runner import evaluate_algorithm, evaluate_all
from recommendations.evaluation.splits import SPLITS, Split, split_data

__all__ = [
    "SPLITS",
    "Split",
    "evaluate_algorithm",
    "evaluate_all",
    "ranking_metrics",
    "split_data",
]
