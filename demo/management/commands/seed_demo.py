"""Build the demo city 民安市: ``manage.py seed_demo [--scale N] [--seed S] [--if-empty]``."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from demo.geometry import MAX_SCALE
from demo.services import (
    DEFAULT_SEED,
    DemoCityExistsError,
    demo_accounts_text,
    demo_city_exists,
    demo_city_seed,
    demo_system_accounts_ensure,
)


def _has_item_model() -> bool:
    from insight.choices import ClassifierTarget
    from insight.models import ClassifierModel

    return ClassifierModel.objects.filter(target=ClassifierTarget.ITEM, is_active=True).exists()


class Command(BaseCommand):
    help = "生成确定性的演示城市（民安市）：区县、街道、社区、网格、部门、地址、演示账号和事项清单。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help=_("规模倍数：街道、社区、网格按比例增减（区县固定 6 个）"),
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=_("随机种子（相同种子生成相同城市）")
        )
        parser.add_argument("--if-empty", action="store_true", help=_("演示城市已存在时什么也不做"))
        parser.add_argument(
            "--no-classifier",
            action="store_true",
            help=_("不训练冷启动事项分类模型（默认按事项清单和知识库训练，供分类建议和自动派单使用）"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and demo_city_exists():
            self.stderr.write(_("演示城市已存在，跳过生成。"))
            # A city seeded before the system accounts and the cold-start model existed.
            demo_system_accounts_ensure()
            if not options["no_classifier"] and not _has_item_model():
                self._train_classifier(lambda stage, count: self.stderr.write(f"{stage}: {count}"))
            self.stdout.write(demo_accounts_text())
            return
        scale = options["scale"]
        if not 0 < scale <= MAX_SCALE:
            raise CommandError(_("--scale 须大于 0 且不超过 %(max)s") % {"max": MAX_SCALE})
        started = time.perf_counter()

        def progress(stage: str, count: int) -> None:
            self.stderr.write(f"[{time.perf_counter() - started:6.1f}s] {stage}: {count}")

        try:
            counts = demo_city_seed(scale=scale, seed=options["seed"], progress=progress)
        except DemoCityExistsError as exc:
            raise CommandError(_("%(error)s（使用 --if-empty 跳过）") % {"error": exc}) from exc
        elapsed = time.perf_counter() - started
        self.stderr.write(
            self.style.SUCCESS(
                _(
                    "演示城市生成完毕，用时 %(s).1f 秒：%(d)s 区县、%(st)s 街道/镇、%(c)s 社区/村、"
                    "%(g)s 网格、%(b)s 楼院、%(dep)s 部门、%(sta)s 派出机构"
                )
                % {
                    "s": elapsed,
                    "d": counts["districts"],
                    "st": counts["streets"],
                    "c": counts["communities"],
                    "g": counts["grids"],
                    "b": counts["buildings"],
                    "dep": counts["departments"],
                    "sta": counts["stations"],
                }
            )
        )
        if not options["no_classifier"]:
            self._train_classifier(progress)
        self.stdout.write(demo_accounts_text())

    def _train_classifier(self, progress: Any) -> None:
        """A cold-start item model (catalog and knowledge base), so the demo city's orders get
        suggestions, and confident ones are dispatched automatically as ``demo_autodispatch``,
        before any order has closed (the nightly retraining needs closed orders)."""
        from insight.choices import ClassifierTarget, TrainingSource
        from insight.services import TrainingError, classifier_train

        try:
            model = classifier_train(
                actor=None,
                target=ClassifierTarget.ITEM,
                examples=[],
                now=timezone.now(),
                source=TrainingSource.COLD_START,
            )
        except TrainingError as exc:
            self.stderr.write(_("未能训练事项分类模型：%(error)s") % {"error": exc})
            return
        progress(_("事项分类模型（冷启动）"), model.n_labels)
