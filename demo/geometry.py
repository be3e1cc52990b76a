"""The demo city's territory: a jittered lattice cut into districts, streets, communities and grids.

Pure Python (no database). The city is a lattice of ``cols × rows`` quadrilateral cells; every
cell is one grid 网格. Lattice lines are spaced more tightly near the centre (small urban grids,
large rural ones) and every vertex, the outer ones included, is jittered by less than half the
neighbouring spacing, so each cell stays a simple quadrilateral while edges and the city outline
look irregular. Neighbouring cells reference the *same* vertex floats, so the grids tile the city
exactly: no gaps, no overlaps, no T-junctions.

Districts, streets and communities are guillotine partitions of the lattice's index space (a
rectangle of cells cut recursively, with jittered cut positions), so each is exactly the union of
its children and, drawn on the jittered lattice, has wiggly borders.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

# Roughly the south-east of Beijing's plain (WGS-84); the box grows with sqrt(scale).
CENTRE_LON = 116.45
CENTRE_LAT = 39.85
WIDTH_KM = 40.0
HEIGHT_KM = 30.0
DISTRICTS = 6
STREETS_PER_SCALE = 60
COMMUNITIES_PER_SCALE = 600
GRIDS_PER_SCALE = 6000
JITTER = 0.28  # of the smaller neighbouring spacing; must stay below 0.5
KM_PER_DEG_LAT = 111.0
COORD_DIGITS = 6  # ~0.1 m
MAX_SCALE = 50

Point = tuple[float, float]


@dataclass(frozen=True)
class CellRect:
    """Cells ``[c0, c1) × [r0, r1)`` of the lattice (column = west→east, row = south→north)."""

    c0: int
    c1: int
    r0: int
    r1: int

    @property
    def width(self) -> int:
        return self.c1 - self.c0

    @property
    def height(self) -> int:
        return self.r1 - self.r0

    @property
    def cells(self) -> int:
        return self.width * self.height


@dataclass
class GridPlan:
    col: int
    row: int
    ring: list[Point]  # closed, counter-clockwise (RFC 7946 exterior ring)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        lons = [p[0] for p in self.ring]
        lats = [p[1] for p in self.ring]
        return min(lons), min(lats), max(lons), max(lats)

    def geojson(self) -> dict[str, object]:
        return {"type": "Polygon", "coordinates": [[[lon, lat] for lon, lat in self.ring]]}


@dataclass
class CommunityPlan:
    rect: CellRect
    rural: bool
    grids: list[GridPlan] = field(default_factory=list)


@dataclass
class StreetPlan:
    rect: CellRect
    rural: bool  # a town 镇 rather than a street 街道
    communities: list[CommunityPlan] = field(default_factory=list)


@dataclass
class DistrictPlan:
    rect: CellRect
    streets: list[StreetPlan] = field(default_factory=list)


@dataclass
class CityPlan:
    cols: int
    rows: int
    districts: list[DistrictPlan]
    vertices: list[list[Point]]  # [col][row], cols+1 × rows+1

    def streets(self) -> list[StreetPlan]:
        return [s for d in self.districts for s in d.streets]

    def communities(self) -> list[CommunityPlan]:
        return [c for s in self.streets() for c in s.communities]

    def grids(self) -> list[GridPlan]:
        return [g for c in self.communities() for g in c.grids]

    def outline(self) -> list[Point]:
        """The city's outer ring (counter-clockwise, closed), walked along the lattice's edge."""
        v, cols, rows = self.vertices, self.cols, self.rows
        ring = [v[c][0] for c in range(cols)]
        ring += [v[cols][r] for r in range(rows)]
        ring += [v[c][rows] for c in range(cols, 0, -1)]
        ring += [v[0][r] for r in range(rows, 0, -1)]
        return [*ring, ring[0]]


@dataclass(frozen=True)
class PlannedCounts:
    districts: int
    streets: int
    communities: int
    cols: int
    rows: int

    @property
    def grids(self) -> int:
        return self.cols * self.rows


def planned_counts(scale: float) -> PlannedCounts:
    """Districts stay 6; streets, communities and grids scale linearly (at least one per parent)."""
    if not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be in (0, {MAX_SCALE}]")
    streets = max(DISTRICTS, round(STREETS_PER_SCALE * scale))
    communities = max(streets, round(COMMUNITIES_PER_SCALE * scale))
    target = max(2 * communities, round(GRIDS_PER_SCALE * scale))
    cols = max(1, round(math.sqrt(target * WIDTH_KM / HEIGHT_KM)))
    rows = max(1, round(target / cols))
    if cols * rows < 2 * communities:
        rows = math.ceil(2 * communities / cols)
    return PlannedCounts(DISTRICTS, streets, communities, cols, rows)


def _spacings(n: int, rng: random.Random) -> list[float]:
    """Relative widths of n lattice bands, ~1 at the centre growing to ~1.8 at the edges."""
    out = []
    for i in range(n):
        t = abs((i + 0.5) - n / 2) / (n / 2)
        out.append((1.0 + 0.8 * t**1.5) * rng.uniform(0.85, 1.15))
    total = sum(out)
    return [w / total for w in out]


def _lattice(cols: int, rows: int, scale: float, rng: random.Random) -> list[list[Point]]:
    """Vertex ``[c][r]`` for c in 0..cols, r in 0..rows, in lon/lat, jittered and rounded."""
    width_km = WIDTH_KM * math.sqrt(scale)
    height_km = HEIGHT_KM * math.sqrt(scale)
    km_per_deg_lon = KM_PER_DEG_LAT * math.cos(math.radians(CENTRE_LAT))
    xs_w = _spacings(cols, rng)
    ys_w = _spacings(rows, rng)
    xs = [0.0]
    for w in xs_w:
        xs.append(xs[-1] + w)
    ys = [0.0]
    for w in ys_w:
        ys.append(ys[-1] + w)

    def room(ws: list[float], i: int) -> float:
        near = [ws[k] for k in (i - 1, i) if 0 <= k < len(ws)]
        return min(near)

    west = CENTRE_LON - width_km / 2 / km_per_deg_lon
    south = CENTRE_LAT - height_km / 2 / KM_PER_DEG_LAT
    vertices: list[list[Point]] = []
    for c in range(cols + 1):
        column: list[Point] = []
        for r in range(rows + 1):
            x = xs[c] + rng.uniform(-JITTER, JITTER) * room(xs_w, c)
            y = ys[r] + rng.uniform(-JITTER, JITTER) * room(ys_w, r)
            lon = west + x * width_km / km_per_deg_lon
            lat = south + y * height_km / KM_PER_DEG_LAT
            column.append((round(lon, COORD_DIGITS), round(lat, COORD_DIGITS)))
        vertices.append(column)
    return vertices


def partition(rect: CellRect, k: int, rng: random.Random) -> list[CellRect]:
    """Cut ``rect`` into ``k`` rectangles of at least one cell each (guillotine, jittered cuts).

    Parts come out west→east / south→north along each cut, so the order is deterministic.
    """
    if k < 1 or k > rect.cells:
        raise ValueError(f"cannot cut {rect.cells} cells into {k} parts")
    if k == 1:
        return [rect]
    ratio = rect.width / rect.height
    cut_cols = rng.random() < 0.5 if 0.8 <= ratio <= 1.25 else ratio > 1
    for axis_cols in (cut_cols, not cut_cols):
        length, other = (rect.width, rect.height) if axis_cols else (rect.height, rect.width)
        k1_options = sorted(range(1, k), key=lambda k1: (abs(2 * k1 - k), rng.random()))
        for k1 in k1_options:
            k2 = k - k1
            lo = math.ceil(k1 / other)
            hi = length - math.ceil(k2 / other)
            if lo > hi:
                continue
            ideal = length * k1 / k
            cut = round(ideal + rng.uniform(-0.12, 0.12) * length)
            cut = min(max(cut, lo), hi)
            if axis_cols:
                a = CellRect(rect.c0, rect.c0 + cut, rect.r0, rect.r1)
                b = CellRect(rect.c0 + cut, rect.c1, rect.r0, rect.r1)
            else:
                a = CellRect(rect.c0, rect.c1, rect.r0, rect.r0 + cut)
                b = CellRect(rect.c0, rect.c1, rect.r0 + cut, rect.r1)
            return partition(a, k1, rng) + partition(b, k2, rng)
    raise ValueError(f"cannot cut {rect} into {k} parts")  # pragma: no cover - unreachable when k <= cells


def apportion(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` over parts by weight (largest remainder), each part ≥1 and ≤ its weight."""
    n = len(weights)
    if not n <= total <= sum(weights):
        raise ValueError(f"cannot apportion {total} over weights {weights}")
    alloc = [1] * n
    spare = total - n
    whole = sum(weights)
    quotas = [spare * w / whole for w in weights]
    for i, q in enumerate(quotas):
        alloc[i] += min(int(q), weights[i] - 1)
    order = sorted(range(n), key=lambda i: (-(quotas[i] - int(quotas[i])), i))
    left = total - sum(alloc)
    while left > 0:
        progressed = False
        for i in order:
            if left and alloc[i] < weights[i]:
                alloc[i] += 1
                left -= 1
                progressed = True
        if not progressed:  # pragma: no cover - impossible while total <= sum(weights)
            raise ValueError("apportion did not converge")
    return alloc


def plan_city(*, scale: float, seed: int) -> CityPlan:
    """The whole territory for a scale and seed; the same inputs always give the same plan."""
    counts = planned_counts(scale)
    rng = random.Random(seed)  # noqa: S311 - deterministic demo data, not security
    cols, rows = counts.cols, counts.rows
    vertices = _lattice(cols, rows, scale, rng)
    city = CellRect(0, cols, 0, rows)

    def rural(rect: CellRect) -> bool:
        cx = (rect.c0 + rect.c1) / 2 / cols - 0.5
        cy = (rect.r0 + rect.r1) / 2 / rows - 0.5
        return math.hypot(cx, cy) > 0.42

    districts = [DistrictPlan(rect) for rect in partition(city, counts.districts, rng)]
    per_district = apportion(counts.streets, [d.rect.cells for d in districts])
    for district, n_streets in zip(districts, per_district, strict=True):
        district.streets = [StreetPlan(r, rural(r)) for r in partition(district.rect, n_streets, rng)]
    streets = [s for d in districts for s in d.streets]
    per_street = apportion(counts.communities, [s.rect.cells for s in streets])
    for street, n_comm in zip(streets, per_street, strict=True):
        for rect in partition(street.rect, n_comm, rng):
            community = CommunityPlan(rect, street.rural and rural(rect))
            # Grids in reading order: north-west first.
            for r in range(rect.r1 - 1, rect.r0 - 1, -1):
                for c in range(rect.c0, rect.c1):
                    ring = [
                        vertices[c][r],
                        vertices[c + 1][r],
                        vertices[c + 1][r + 1],
                        vertices[c][r + 1],
                        vertices[c][r],
                    ]
                    community.grids.append(GridPlan(c, r, ring))
            street.communities.append(community)
    return CityPlan(cols, rows, districts, vertices)


def point_in_cell(ring: list[Point], u: float, v: float) -> Point:
    """Bilinear point of a quadrilateral cell (u, v in [0, 1]); inside for convex cells."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = ring[:4]
    lon = (1 - u) * (1 - v) * x0 + u * (1 - v) * x1 + u * v * x2 + (1 - u) * v * x3
    lat = (1 - u) * (1 - v) * y0 + u * (1 - v) * y1 + u * v * y2 + (1 - u) * v * y3
    return round(lon, COORD_DIGITS + 1), round(lat, COORD_DIGITS + 1)
