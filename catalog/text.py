"""Text helpers shared by the catalog's services, imports and selectors (no database access)."""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

PINYIN_INDEX_MAX = 2048
KEYWORD_SPLIT = re.compile(r"[,，、;；\s]+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_keywords(raw: str) -> str:
    """Keywords in one canonical form: split on commas, 、, semicolons or spaces; deduplicated; '，'."""
    seen: dict[str, None] = {}
    for part in KEYWORD_SPLIT.split(raw or ""):
        if part:
            seen.setdefault(part, None)
    return "，".join(seen)


def keyword_list(raw: str) -> list[str]:
    return [part for part in KEYWORD_SPLIT.split(raw or "") if part]


def _pinyin_forms(phrase: str) -> tuple[str, str]:
    full = "".join(lazy_pinyin(phrase, style=Style.NORMAL)).lower()
    initials = "".join(lazy_pinyin(phrase, style=Style.FIRST_LETTER)).lower()
    return _NON_ALNUM.sub("", full), _NON_ALNUM.sub("", initials)


def pinyin_index(name: str, keywords: str) -> str:
    """Space-separated full pinyin and initials of the name and each keyword.

    垃圾分类 gives ``lajifenlei ljfl``, so a substring search finds ``ljfl``, ``laji`` and
    ``fenlei``. Each phrase is one token, so a query never matches across two keywords.
    """
    tokens: dict[str, None] = {}
    for phrase in [name, *keyword_list(keywords)]:
        for form in _pinyin_forms(phrase):
            if form:
                tokens.setdefault(form, None)
    out = ""
    for token in tokens:
        if len(out) + len(token) + 1 > PINYIN_INDEX_MAX:
            break
        out = f"{out} {token}" if out else token
    return out


def pinyin_query(query: str) -> str:
    """A query as it is compared with the pinyin index: lower case letters and digits only."""
    return _NON_ALNUM.sub("", query.lower())
