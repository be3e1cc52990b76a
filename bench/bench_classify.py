"""Order classification: training time and per-order latency, beside a keyword-rule classifier.

Run: ``.venv/bin/python -m bench.bench_classify`` (options: ``--train 200000 --test 2000
--seed 0``). Floors (issue 6): training on 200,000 closed orders ≤ 10 minutes; p99 per order
≤ 20 ms with the model loaded once per process.

The corpus is synthetic and built in memory from the demo catalog (``catalog/data/
demo_catalog.json``, 235 items, written for Minhu): each order picks an item (long-tailed, as
real demand is), writes a title and a body from the item's name, keywords and subcategory with
filler phrases, a made-up address and house numbers, sometimes borrows a keyword of a sibling
item (the confusions dispatchers see) and carries typos (a few characters swapped for common
ones). No database is involved. The classifier is ``insight.classifier.TextClassifier``, the very
object ``insight.services`` trains, stores and serves; the model is serialised and loaded back
before timing, as a serving process would.

The baseline is the rule a centre starts with: count the item's name (weight 2) and keywords
found in the text, highest count wins (ties: lowest code), no match → the most frequent item.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from insight.classifier import Document, TextClassifier

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "data" / "demo_catalog.json"

OPENERS = ("您好，", "你好，", "我要反映个情况，", "我是附近居民，", "麻烦帮忙处理一下：", "投诉：", "", "")
PLACE_HEADS = ("东风", "和平", "幸福", "建设", "人民", "光明", "新华", "长安", "朝阳", "文化", "胜利", "青年")
PLACE_TAILS = ("路", "街", "大道", "小区", "花园", "家园", "社区", "村", "胡同", "里")
FILLERS = (
    "已经好几天了",
    "一直没人管",
    "影响大家正常生活",
    "之前反映过没有结果",
    "希望尽快解决",
    "老人孩子都受影响",
    "晚上尤其明显",
    "周围居民意见很大",
    "请相关部门核实处理",
    "给出行带来不便",
    "物业说不归他们管",
    "打了好几次电话",
)
CLOSERS = ("谢谢！", "请尽快处理。", "盼复。", "", "")
# Common characters used for typos: a wrong character in place of a right one.
TYPO_CHARS = "的一是了不在人有我他这中大来上个到说们为子和你地出道也时年得就那要下以生会着去之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手用主行方又如前所本见经头面公同已老从动两长知民样现分将外但身些与高意进把法此实回理点月明其种"


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    keywords: tuple[str, ...]
    subcategory: str
    siblings: tuple[str, ...]  # codes of the other items of its subcategory


def load_items(path: Path = CATALOG) -> list[Item]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items: list[Item] = []
    for category in data["categories"]:
        for sub in category["subcategories"]:
            codes = [it["code"] for it in sub["items"]]
            items.extend(
                Item(
                    code=it["code"],
                    name=it["name"],
                    keywords=tuple(it.get("keywords") or ()),
                    subcategory=sub["name"],
                    siblings=tuple(c for c in codes if c != it["code"]),
                )
                for it in sub["items"]
            )
    return items


def _typos(text: str, rng: random.Random, rate: float) -> str:
    return "".join(
        rng.choice(TYPO_CHARS) if ch not in "，。：！" and rng.random() < rate else ch for ch in text
    )


def make_order(item: Item, by_code: dict[str, Item], rng: random.Random) -> tuple[Document, str]:
    words = list(item.keywords) or [item.name]
    chosen = rng.sample(words, k=min(len(words), rng.randint(1, 3)))
    if item.siblings and rng.random() < 0.15:  # a sibling's keyword creeps in
        sibling = by_code[rng.choice(item.siblings)]
        if sibling.keywords:
            chosen.append(rng.choice(sibling.keywords))
    place = f"{rng.choice(PLACE_HEADS)}{rng.choice(PLACE_TAILS)}{rng.randint(1, 300)}号"
    title = rng.choice((item.name, f"{chosen[0]}问题", f"{place}{chosen[0]}", f"反映{item.subcategory}问题"))
    body = "".join(
        (
            rng.choice(OPENERS),
            place,
            rng.choice(("附近", "门口", "楼下", "一带")),
            "，".join(chosen),
            "，",
            rng.choice(FILLERS),
            "，",
            item.name if rng.random() < 0.5 else item.subcategory,
            "，",
            rng.choice(FILLERS),
            f"，联系电话138{rng.randint(10_000_000, 99_999_999)}。" if rng.random() < 0.3 else "。",
            rng.choice(CLOSERS),
        )
    )
    return Document(title=_typos(title, rng, 0.04), body=_typos(body, rng, 0.04)), item.code


def corpus(n: int, *, seed: int, items: Sequence[Item] | None = None) -> tuple[list[Document], list[str]]:
    """``n`` synthetic orders over the catalog, long-tailed (Pareto item weights)."""
    items = list(items or load_items())
    by_code = {it.code: it for it in items}
    rng = random.Random(seed)
    weights = [random.Random(i).paretovariate(1.2) for i in range(len(items))]  # fixed per item
    docs: list[Document] = []
    labels: list[str] = []
    for item in rng.choices(items, weights=weights, k=n):
        doc, label = make_order(item, by_code, rng)
        docs.append(doc)
        labels.append(label)
    return docs, labels


class KeywordRules:
    """The baseline: name (×2) and keyword hits in the text; highest wins."""

    def __init__(self, items: Sequence[Item], default: str) -> None:
        self._rules = [(it.code, it.name, it.keywords) for it in sorted(items, key=lambda i: i.code)]
        self._default = default

    def predict(self, document: Document) -> str:
        text = document.text
        best, best_hits = self._default, 0
        for code, name, keywords in self._rules:
            hits = 2 * (name in text) + sum(1 for k in keywords if k in text)
            if hits > best_hits:
                best, best_hits = code, hits
        return best


@dataclass(frozen=True)
class Result:
    train_orders: int
    test_orders: int
    labels: int
    train_s: float
    model_bytes: int
    load_s: float
    p50_ms: float
    p99_ms: float
    accuracy: float
    rules_p50_ms: float
    rules_p99_ms: float
    rules_accuracy: float

    @property
    def p99_ratio(self) -> float:
        return self.p99_ms / self.rules_p99_ms if self.rules_p99_ms else float("inf")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples) * 1000.0
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def run(*, train: int, test: int, seed: int = 0) -> Result:
    items = load_items()
    docs, labels = corpus(train + test, seed=seed, items=items)
    train_docs, train_labels = docs[:train], labels[:train]
    test_docs, test_labels = docs[train:], labels[train:]

    started = time.perf_counter()
    model = TextClassifier().fit(train_docs, train_labels)
    train_s = time.perf_counter() - started
    blob = model.to_bytes()
    model_bytes = len(blob)
    started = time.perf_counter()
    served = TextClassifier.from_bytes(blob)  # what a serving process holds
    load_s = time.perf_counter() - started
    del model, docs, labels, train_docs, blob
    gc.collect()
    gc.freeze()  # the model is loaded once per process; keep it out of full GC sweeps

    served.predict(test_docs[0])  # warm-up
    times: list[float] = []
    right = 0
    for doc, want in zip(test_docs, test_labels, strict=True):
        t0 = time.perf_counter()
        prediction = served.predict(doc)
        times.append(time.perf_counter() - t0)
        right += prediction.label == want
    p50, p99 = _percentiles(times)

    rules = KeywordRules(items, default=Counter(train_labels).most_common(1)[0][0])
    rule_times: list[float] = []
    rule_right = 0
    for doc, want in zip(test_docs, test_labels, strict=True):
        t0 = time.perf_counter()
        got = rules.predict(doc)
        rule_times.append(time.perf_counter() - t0)
        rule_right += got == want
    r50, r99 = _percentiles(rule_times)
    gc.unfreeze()
    return Result(
        train_orders=train,
        test_orders=test,
        labels=len(set(train_labels)),
        train_s=train_s,
        model_bytes=model_bytes,
        load_s=load_s,
        p50_ms=p50,
        p99_ms=p99,
        accuracy=right / len(test_docs),
        rules_p50_ms=r50,
        rules_p99_ms=r99,
        rules_accuracy=rule_right / len(test_docs),
    )


def main(argv: Sequence[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description="order classification benchmark")
    parser.add_argument("--train", type=int, default=200_000, help="synthetic closed orders to train on")
    parser.add_argument("--test", type=int, default=2_000, help="orders classified one at a time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    r = run(train=args.train, test=args.test, seed=args.seed)
    print(f"classification of synthetic orders: {r.train_orders:,} to train on, {r.labels} items")
    print(
        f"  training: {r.train_s:.1f} s (floor 600 s); model {r.model_bytes / 1e6:.1f} MB, loads in {r.load_s:.2f} s"
    )
    print(f"{'':>14}  {'p50 ms':>7}  {'p99 ms':>7}  {'accuracy':>8}")
    print(f"{'classifier':>14}  {r.p50_ms:>7.2f}  {r.p99_ms:>7.2f}  {r.accuracy:>8.3f}")
    print(f"{'keyword rules':>14}  {r.rules_p50_ms:>7.2f}  {r.rules_p99_ms:>7.2f}  {r.rules_accuracy:>8.3f}")
    print(
        f"p99 ratio classifier ÷ keyword rules: {r.p99_ratio:.2f}× (floor: classifier p99 ≤ 20 ms); "
        f"{r.test_orders:,} orders one at a time, model loaded once"
    )
    return r


if __name__ == "__main__":
    main()
