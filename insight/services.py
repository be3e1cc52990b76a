"""Writes for insight: train a classifier version, activate a version.

Training API: ``classifier_train(target=..., examples=[Example(Document(title, body), label), ...])``.
The orders integration feeds closed orders in chronological order (label: the item code, or the
code of the unit that finally handled the order, for ``ClassifierTarget.UNIT``), including the
dispatcher's overrides, which are simply the final labels; the window is capped at the newest
``max_examples`` (``settings.INSIGHT_TRAINING_CAP``, default 200,000). For the item target the
cold-start examples (catalog and knowledge base) are always added, so items nobody has reported
yet stay predictable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from insight import permissions, selectors
from insight.choices import ClassifierTarget, TrainingSource
from insight.classifier import Example, TextClassifier
from insight.models import ClassifierModel

DEFAULT_TRAINING_CAP = 200_000


class TrainingError(ValueError):
    """Nothing (or nothing usable) to train on; the message is Chinese."""


def _require(actor: Any | None) -> None:
    if actor is not None and not permissions.can_manage_classifier(actor):
        raise PermissionDenied(_("没有管理分类模型的权限。"))


def model_snapshot(model: ClassifierModel) -> dict[str, Any]:
    return {
        "target": model.target,
        "version": model.version,
        "source": model.source,
        "n_examples": model.n_examples,
        "n_labels": model.n_labels,
        "sha256": model.sha256,
        "is_active": model.is_active,
    }


def classifier_train(
    *,
    actor: Any | None,
    target: ClassifierTarget | str,
    examples: Sequence[Example],
    now: datetime,
    source: TrainingSource | str = TrainingSource.ORDERS,
    include_cold_start: bool = True,
    max_examples: int | None = None,
    activate: bool = True,
) -> ClassifierModel:
    """Train a new version of ``target``'s model and store it (active unless ``activate=False``).

    Fitting happens outside the transaction (it may take minutes); storing the row, switching
    the active version and the audit row (``insight.classifier_train``) happen in one.
    """
    _require(actor)
    target = ClassifierTarget(target)
    cap = (
        max_examples
        if max_examples is not None
        else int(getattr(settings, "INSIGHT_TRAINING_CAP", DEFAULT_TRAINING_CAP))
    )
    window = list(examples)[-cap:] if cap > 0 else []
    usable = [e for e in window if e.label and (e.document.title.strip() or e.document.body.strip())]
    cold = selectors.cold_start_examples() if include_cold_start and target == ClassifierTarget.ITEM else []
    training = cold + usable
    if not training:
        raise TrainingError(_("没有可用于训练的样本。"))
    classifier = TextClassifier().fit_examples(training)
    blob = classifier.to_bytes()
    metrics = {
        "holdout": classifier.holdout_metrics,
        "train_seconds": round(classifier.train_seconds, 2),
        "cold_start_examples": len(cold),
        "order_examples": len(usable),
        "dropped_empty": len(window) - len(usable),
    }
    with transaction.atomic():
        # Lock the target's rows; two first trainings racing meet the unique (target, version).
        versions = (
            ClassifierModel.objects.select_for_update()
            .filter(target=target)
            .values_list("version", flat=True)
        )
        last = max(versions, default=0)
        if activate:
            ClassifierModel.objects.filter(target=target, is_active=True).update(is_active=False)
        model = ClassifierModel.objects.create(
            target=target,
            version=last + 1,
            source=source,
            created_at=now,
            created_by=actor if actor is not None and getattr(actor, "pk", None) else None,
            n_examples=len(training),
            n_labels=len(classifier.labels),
            metrics=metrics,
            blob=blob,
            sha256=hashlib.sha256(blob).hexdigest(),
            size_bytes=len(blob),
            is_active=activate,
        )
        audit_record(
            event_type="insight.classifier_train",
            actor=actor,
            object_type="insight.ClassifierModel",
            object_id=model.pk,
            after=model_snapshot(model),
            extra={"metrics": metrics},
            now=now,
        )
    selectors.classifier_cache_clear()
    return model


@transaction.atomic
def classifier_activate(*, actor: Any | None, model: ClassifierModel, now: datetime) -> ClassifierModel:
    """Make ``model`` the active version of its target (e.g. roll back); audited."""
    _require(actor)
    current = ClassifierModel.objects.select_for_update().defer("blob").get(pk=model.pk)
    before = model_snapshot(current)
    if not current.is_active:
        ClassifierModel.objects.filter(target=current.target, is_active=True).update(is_active=False)
        current.is_active = True
        current.save(update_fields=["is_active"])
        audit_record(
            event_type="insight.classifier_activate",
            actor=actor,
            object_type="insight.ClassifierModel",
            object_id=current.pk,
            before=before,
            after=model_snapshot(current),
            now=now,
        )
    transaction.on_commit(selectors.classifier_cache_clear)
    return current
