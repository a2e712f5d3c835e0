import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommendations.algorithms import REGISTRY
from recommendations.dataset import load_interaction_data, load_movielens_data
from recommendations.evaluation import SPLITS, evaluate_all, split_data
from recommendations.movielens import ImportDataError


class Command(BaseCommand):
    help = (
        "Evaluate every registered algorithm offline: split each user's "
        "interactions, fit on the training part, rank all unseen items and "
        "report Precision@k, Recall@k, nDCG@k, MAP, coverage, time and memory."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--split",
            choices=SPLITS,
            default="stratified",
            help="stratified: random 75/25 per user with a fixed seed; "
            "temporal: each user's newest 25 %% held out",
        )
        parser.add_argument("--k", type=int, default=10, help="list length (items)")
        parser.add_argument("--seed", type=int, default=42, help="random seed")
        parser.add_argument(
            "--algorithm",
            action="append",
            choices=sorted(REGISTRY),
            help="algorithm to evaluate; repeat for several (default: all)",
        )
        parser.add_argument(
            "--source",
            choices=["database", "movielens"],
            default="database",
            help="database: the interaction log; movielens: the bundled "
            "MovieLens 100K files, or --path",
        )
        parser.add_argument("--path", type=Path, help="MovieLens folder to read")
        parser.add_argument("--json", type=Path, help="write the results here")

    def handle(self, *args, **options):
        if options["k"] < 1:
            raise CommandError(f"--k {options['k']} must be at least 1.")
        data = self.load(options["source"], options["path"])
        if not data.n_interactions:
            raise CommandError(
                "There are no interactions to evaluate on: import some with "
                "import_movielens, or pass --source movielens."
            )

        split = split_data(data, options["split"], seed=options["seed"])
        results = evaluate_all(split, options["k"], options["algorithm"])
        self.print_table(results, options["k"])
        if options["json"]:
            options["json"].write_text(json.dumps(results, indent=2, sort_keys=True))
            self.stdout.write(f"Wrote {options['json']}")

    def load(self, source: str, path: Path | None):
        if source == "database" and path is None:
            return load_interaction_data()
        try:
            return load_movielens_data(path)
        except ImportDataError as error:
            raise CommandError(str(error)) from error

    def print_table(self, results: dict, k: int) -> None:
        columns = [f"precision@{k}", f"recall@{k}", f"ndcg@{k}", "map", "coverage"]
        columns += ["train_seconds", "recommend_seconds", "peak_memory_mb"]
        self.stdout.write(" ".join(["algorithm".ljust(12), *columns]))
        for name, metrics in results.items():
            if "error" in metrics:
                self.stdout.write(f"{name.ljust(12)} skipped: {metrics['error']}")
                continue
            cells = [f"{metrics[column]:.4f}" for column in columns]
            self.stdout.write(" ".join([name.ljust(12), *cells]))
