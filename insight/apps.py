from __future__ import annotations

from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "insight"
    verbose_name = "研判"

    def ready(self) -> None:
        # Orders never imports insight (STYLE.md rule 10): insight installs its duplicate matcher
        # behind orders.selectors.order_duplicate_candidates.
        from insight.matching import order_duplicate_matcher
        from orders.selectors import register_duplicate_matcher

        register_duplicate_matcher(order_duplicate_matcher)
