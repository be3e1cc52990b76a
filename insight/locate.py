"""Address text → grid through the unified address list, tolerant of typos and missing parts.

``locate_address(text)`` answers with a ``Location``: the grid (and the address it came from)
or, when nothing fits well enough or the good fits disagree, ``flagged=True`` with no grid — the
dispatcher places the order; a grid is never guessed.

Steps
-----
1. The address list's own lookup (``orgs.addresses.address_lookup``: exact text, then the
   normalised text). A hit with a grid is the answer.
2. Otherwise both sides are *canonicalised*: ``normalize_address`` (full-width, punctuation,
   Chinese numerals before 号/栋/单元…, city prefixes), then the words for the same part made
   one: 号楼/幢/座/栋 → 栋, 大街 → 街, 弄/巷 → 巷; 之 between numbers → -. The district (…区/县)
   and street (…街道/镇/乡) prefixes are split off, so an address written without them still
   matches.
3. Candidates are the addresses whose canonical remainder is closest to the query's by rapidfuzz
   (``WRatio``: tolerant of a wrong or missing character and of a missing tail). Numbers are not
   fuzzy: every building, unit, house or room number the query gives must be the candidate's
   (``3栋`` never matches ``8栋``), and a district or street the query names must agree.
4. The best score must reach ``MATCH_THRESHOLD``. If the candidates within ``AMBIGUITY_MARGIN``
   of the best point to different grids, the address is ambiguous and flagged; when they all lie
   in one grid (a coarser address such as ``幸福路88号院`` for a yard of one grid) that grid is
   the answer.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Max
from rapidfuzz import fuzz, process

from orgs.addresses import address_lookup, normalize_address
from orgs.models import Address, Unit

MATCH_THRESHOLD = 80.0
AMBIGUITY_MARGIN = 3.0
CANDIDATES = 12
CACHE_SECONDS = 60.0


class Reason:
    EXACT = "exact"
    FUZZY = "fuzzy"
    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"
    NO_GRID = "no_grid"
    EMPTY = "empty"


@dataclass(frozen=True)
class Location:
    """Where an address is: a grid, or a flag for the dispatcher (then ``grid`` is None)."""

    grid: Unit | None
    address: Address | None
    score: float
    reason: str
    candidates: tuple[tuple[str, float], ...] = ()  # (address text, score) for the dispatcher

    @property
    def flagged(self) -> bool:
        return self.grid is None


# --- canonical form -----------------------------------------------------------------------------

_PART_WORDS = (
    (re.compile(r"(\d+)(?:号楼|幢|座|栋)"), r"\1栋"),
    (re.compile(r"大街"), "街"),
    (re.compile(r"弄"), "巷"),
    (re.compile(r"(?<=\d)之(?=\d)"), "-"),
)
_DISTRICT_RE = re.compile(r"^(?P<district>[^\d]{1,8}?(?:(?<![小社园景])区|县))")
_STREET_RE = re.compile(r"^(?P<street>[^\d]{1,8}?(?:街道|镇|乡))")
_NUMBERED_RE = re.compile(r"(\d+(?:-\d+)*)(号院|号|栋|单元|层|室)?")


@dataclass(frozen=True)
class Parsed:
    district: str
    street: str
    rest: str
    numbers: frozenset[tuple[str, str]]  # (kind, number); kind "" for a bare trailing number


def parse(text: str) -> Parsed:
    s = normalize_address(text)
    for pattern, repl in _PART_WORDS:
        s = pattern.sub(repl, s)
    district = street = ""
    m = _DISTRICT_RE.match(s)
    if m:
        district, s = m.group("district"), s[m.end() :]
    m = _STREET_RE.match(s)
    if m:
        street, s = m.group("street"), s[m.end() :]
    numbers = frozenset(
        ("号" if (kind or "") == "号院" else (kind or ""), number) for number, kind in _NUMBERED_RE.findall(s)
    )
    return Parsed(district=district, street=street, rest=s, numbers=numbers)


def _numbers_agree(query: Parsed, candidate: Parsed) -> bool:
    """Every number the query gives is the candidate's, kind by kind."""
    by_kind: dict[str, set[str]] = {}
    for kind, number in candidate.numbers:
        by_kind.setdefault(kind, set()).add(number)
    for kind, number in query.numbers:
        if kind:
            if number not in by_kind.get(kind, set()):
                return False
        elif not any(number in values for values in by_kind.values()):
            return False
    return True


def _prefix_agrees(query_part: str, candidate_part: str) -> bool:
    return not query_part or not candidate_part or fuzz.ratio(query_part, candidate_part) >= 75


# --- the matcher --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    pk: int
    text: str
    grid_id: int | None
    parsed: Parsed


class AddressMatcher:
    """The address list in canonical form, searchable by rapidfuzz (no database access)."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self._choices = [e.parsed.rest for e in self.entries]

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, str, int | None]]) -> AddressMatcher:
        return cls(
            [Entry(pk=pk, text=text, grid_id=grid_id, parsed=parse(text)) for pk, text, grid_id in rows]
        )

    def match(self, text: str) -> tuple[list[tuple[Entry, float]], Parsed]:
        """Candidates that agree on numbers and named prefixes, best first, with their scores."""
        query = parse(text)
        if not query.rest:
            return [], query
        found = process.extract(query.rest, self._choices, scorer=fuzz.WRatio, limit=CANDIDATES * 4)
        out: list[tuple[Entry, float]] = []
        for _choice, score, position in found:
            entry = self.entries[position]
            if not _numbers_agree(query, entry.parsed):
                continue
            if not (
                _prefix_agrees(query.district, entry.parsed.district)
                and _prefix_agrees(query.street, entry.parsed.street)
            ):
                continue
            out.append((entry, float(score)))
            if len(out) >= CANDIDATES:
                break
        return out, query


_lock = threading.Lock()
_cached: tuple[tuple[int, int | None], float, AddressMatcher] | None = None


def address_matcher() -> AddressMatcher:
    """The process-wide matcher, rebuilt when the address list's size or newest id changes (and
    at least every ``CACHE_SECONDS``, so edits of existing rows are seen)."""
    global _cached
    version_row = Address.objects.aggregate(n=Count("pk"), top=Max("pk"))
    version = (int(version_row["n"] or 0), version_row["top"])
    now = time.monotonic()
    with _lock:
        if _cached is not None and _cached[0] == version and now - _cached[1] < CACHE_SECONDS:
            return _cached[2]
        rows = list(Address.objects.order_by("pk").values_list("pk", "text", "grid_id"))
        matcher = AddressMatcher.from_rows(rows)
        _cached = (version, now, matcher)
        return matcher


def address_matcher_clear() -> None:
    global _cached
    with _lock:
        _cached = None


def locate_address(text: str) -> Location:
    """The grid of an address text, or a flagged Location (see the module docstring)."""
    raw = (text or "").strip()
    if not raw or not normalize_address(raw):
        return Location(grid=None, address=None, score=0.0, reason=Reason.EMPTY)
    exact = address_lookup(raw)
    if exact is not None:
        if exact.grid is None:
            return Location(grid=None, address=exact, score=100.0, reason=Reason.NO_GRID)
        return Location(grid=exact.grid, address=exact, score=100.0, reason=Reason.EXACT)
    found, _query = address_matcher().match(raw)
    shown = tuple((entry.text, round(score, 1)) for entry, score in found[:3])
    if not found or found[0][1] < MATCH_THRESHOLD:
        return Location(
            grid=None,
            address=None,
            score=found[0][1] if found else 0.0,
            reason=Reason.NO_MATCH,
            candidates=shown,
        )
    best_entry, best_score = found[0]
    close = [entry for entry, score in found if score >= best_score - AMBIGUITY_MARGIN]
    grids = {entry.grid_id for entry in close}
    if len(grids) > 1 or None in grids:
        reason = Reason.NO_GRID if grids == {None} else Reason.AMBIGUOUS
        return Location(grid=None, address=None, score=best_score, reason=reason, candidates=shown)
    address = Address.objects.select_related("grid").get(pk=best_entry.pk)
    return Location(
        grid=address.grid, address=address, score=best_score, reason=Reason.FUZZY, candidates=shown
    )
