"""``manage.py train_classifier``: train and activate a new item-classifier version from the
catalog and the knowledge base (cold start), so a fresh city gets suggestions before any order
has closed. Training from closed orders is the periodic task's job (it feeds ``classifier_train``
the orders' final item and unit)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from insight.choices import ClassifierTarget, TrainingSource
from insight.classifier import TextClassifier
from insight.selectors import cold_start_examples
from insight.services import TrainingError, classifier_train


class Command(BaseCommand):
    help = "Train a cold-start item classifier from the catalog and the knowledge base."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="train and report, store nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            examples = cold_start_examples()
            if not examples:
                raise CommandError("没有可用于训练的样本。")
            classifier = TextClassifier().fit_examples(examples)
            self.stdout.write(
                f"dry run: {len(examples)} examples, {len(classifier.labels)} items, "
                f"{classifier.train_seconds:.1f} s; nothing stored"
            )
            return
        try:
            model = classifier_train(
                actor=None,
                target=ClassifierTarget.ITEM,
                examples=[],
                now=timezone.now(),
                source=TrainingSource.COLD_START,
            )
        except TrainingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"item classifier v{model.version}: {model.n_examples} examples, {model.n_labels} items, "
            f"{model.size_bytes / 1e6:.1f} MB, {model.metrics.get('train_seconds')} s"
        )
