"""``manage.py evaluate_classifier --train FILE [--test FILE] [--label COLUMN]`` (issue 6).

Prints the per-class table and the confusion matrix of the serving classifier, and ends with one
line: ``macro_f1=0.xxx accuracy=0.xxx baseline_macro_f1=0.xxx``. See ``insight.evaluation``.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from insight.evaluation import EvaluationError, evaluate, read_rows


class Command(BaseCommand):
    help = "Evaluate the order classifier on a labelled CSV (title, body, label) against the pinned baseline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", required=True, help="labelled CSV to train on (or to cross-validate)")
        parser.add_argument("--test", help="labelled CSV to score on; without it, 5-fold cross-validation")
        parser.add_argument("--label", default="category", help="the label column (default: category)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            train = read_rows(options["train"], label_column=options["label"])
            test = read_rows(options["test"], label_column=options["label"]) if options["test"] else None
            report = evaluate(train, test)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from None
        how = (
            f"hold-out: {len(train)} training rows, {len(report.truth)} test rows"
            if report.mode == "holdout"
            else f"StratifiedKFold(5, shuffle=True, random_state=0) over {len(train)} rows"
        )
        self.stdout.write(f"evaluate_classifier — {how}; {time.perf_counter() - started:.1f} s")
        self.stdout.write("per-class (insight.classifier.TextClassifier):")
        self.stdout.write(report.per_class_table())
        self.stdout.write(report.confusion_table())
        self.stdout.write(report.final_line())
