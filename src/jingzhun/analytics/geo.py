"""Demo boundaries and GeoJSON checks. Pure Python: no Django.

The demo county has no real boundaries (and no internet to fetch any), so it gets shapes drawn
deterministically from its codes: an irregular county outline, townships as a Voronoi partition
of it, villages as a Voronoi partition of their township. Cells are cut from the parent polygon
by half-planes (Sutherland-Hodgman), so every level tiles its parent exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

Point = tuple[float, float]
Polygon = list[Point]

# Plausible centres (lon, lat) of the five counties the demo is calibrated to; others get one
# derived from the code inside China's extent.
CENTRES: dict[str, Point] = {
    "230231": (126.10, 47.60),  # 拜泉县
    "230623": (124.87, 47.18),  # 林甸县
    "230223": (125.30, 47.89),  # 依安县
    "522628": (109.20, 26.68),  # 锦屏县
    "150522": (122.35, 42.95),  # 科左后旗
}


def _rng(code: str) -> random.Random:
    return random.Random(int("".join(ch for ch in code if ch.isdigit()) or "0"))


def county_outline(code: str, radius: float = 0.32, points: int = 56) -> Polygon:
    """A star-shaped, irregular outline around the county's centre (degrees)."""
    rng = _rng(code[:6])
    cx, cy = CENTRES.get(
        code[:6], (100 + (int(code[:6]) % 2300) / 100, 25 + (int(code[:6]) % 1700) / 100)
    )
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(4)]
    weights = [0.18, 0.10, 0.06, 0.04]
    out: Polygon = []
    for i in range(points):
        a = 2 * math.pi * i / points
        r = 1 + sum(
            w * math.sin((k + 2) * a + p)
            for k, (w, p) in enumerate(zip(weights, phases, strict=True))
        )
        r *= radius * rng.uniform(0.97, 1.03)
        out.append(
            (
                round(cx + r * math.cos(a) / math.cos(math.radians(cy)), 5),
                round(cy + r * math.sin(a), 5),
            )
        )
    return out


def clip(poly: Polygon, a: float, b: float, c: float) -> Polygon:
    """The part of poly where a*x + b*y <= c."""
    out: Polygon = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        fp, fq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
        if fp <= 0:
            out.append(p)
        if (fp < 0 < fq) or (fq < 0 < fp):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def inside(poly: Polygon, pt: Point) -> bool:
    x, y = pt
    hit = False
    n = len(poly)
    for i in range(n):
        (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def area_centroid(poly: Polygon) -> tuple[float, Point]:
    a = cx = cy = 0.0
    n = len(poly)
    for i in range(n):
        (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % n]
        cross = x1 * y2 - x2 * y1
        a += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if abs(a) < 1e-15:
        xs, ys = zip(*poly, strict=True)
        return 0.0, (sum(xs) / n, sum(ys) / n)
    return abs(a) / 2, (cx / (3 * a), cy / (3 * a))


def voronoi(parent: Polygon, sites: Sequence[Point]) -> list[Polygon]:
    """Each site's cell: the parent cut by the bisector half-planes towards every other site."""
    cells = []
    for i, (xi, yi) in enumerate(sites):
        cell = list(parent)
        for j, (xj, yj) in enumerate(sites):
            if i == j or not cell:
                continue
            # closer to i than to j: (xj-xi) x + (yj-yi) y <= (|j|^2 - |i|^2) / 2
            cell = clip(cell, xj - xi, yj - yi, (xj * xj + yj * yj - xi * xi - yi * yi) / 2)
        cells.append(cell)
    return cells


def _sites(parent: Polygon, n: int, rng: random.Random, relax: int = 3) -> list[Point]:
    xs, ys = zip(*parent, strict=True)
    sites: list[Point] = []
    tries = 0
    while len(sites) < n and tries < 10000:
        tries += 1
        p = (rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys)))
        if inside(parent, p):
            sites.append(p)
    while len(sites) < n:  # a degenerate parent: spread along its vertices
        sites.append(parent[len(sites) % len(parent)])
    for _ in range(relax):  # Lloyd: move each site to its cell's centroid, for even cells
        cells = voronoi(parent, sites)
        sites = [
            area_centroid(c)[1] if len(c) >= 3 else s for c, s in zip(cells, sites, strict=True)
        ]
    return sites


def _geometry(poly: Polygon) -> dict[str, Any]:
    ring = [[round(x, 5), round(y, 5)] for x, y in poly]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def demo_shapes(county: str, children: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """{region code: GeoJSON geometry} for the county, its townships (`children[county]`) and
    their villages (`children[township]`); the same codes always give the same shapes."""
    outline = county_outline(county)
    out = {county: _geometry(outline)}
    townships = sorted(children.get(county, []))
    if not townships:
        return out
    rng = _rng(county)
    cells = (
        voronoi(outline, _sites(outline, len(townships), rng)) if len(townships) > 1 else [outline]
    )
    for township, cell in zip(townships, cells, strict=True):
        if len(cell) < 3:
            continue
        out[township] = _geometry(cell)
        villages = sorted(children.get(township, []))
        if not villages:
            continue
        vr = _rng(township)
        vcells = (
            voronoi(cell, _sites(cell, len(villages), vr, relax=2)) if len(villages) > 1 else [cell]
        )
        for village, vcell in zip(villages, vcells, strict=True):
            if len(vcell) >= 3:
                out[village] = _geometry(vcell)
    return out


# --- uploaded GeoJSON ------------------------------------------------------------------------


class GeoError(ValueError):
    pass


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (iteratively: no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in item if isinstance(child, (list, dict)))
    return deepest


def serve_json(data: bytes, send: Any) -> None:
    """The child's side of a contained GeoJSON parse (`core.sandbox`): ("ok", value, depth) or
    ("error", Chinese reason). Nesting beyond the interpreter's recursion limit is refused by
    the JSON parser itself (RecursionError), here and not in the caller."""
    import json

    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        send(("error", "文件不是有效的 JSON（UTF-8）。"))
        return
    except RecursionError:
        send(("error", "文件中数组或对象的嵌套层数过深，不是有效的区划边界。"))
        return
    send(("ok", value, depth(value)))


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise GeoError(f"{where}：每个环至少 4 个点")
    for pt in ring:
        if (
            not isinstance(pt, list)
            or len(pt) < 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pt[:2])
        ):
            raise GeoError(f"{where}：坐标须为 [经度, 纬度] 数字")
        if not (-180 <= pt[0] <= 180 and -90 <= pt[1] <= 90):
            raise GeoError(f"{where}：坐标 {pt[:2]} 超出经纬度范围")
    if ring[0][:2] != ring[-1][:2]:
        raise GeoError(f"{where}：环的首尾点须相同（闭合）")


def check_geometry(geometry: Any, where: str) -> dict[str, Any]:
    """A Polygon or MultiPolygon in lon/lat with closed rings; returns the geometry."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise GeoError(f"{where}：几何类型须为 Polygon 或 MultiPolygon")
    coords = geometry.get("coordinates")
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise GeoError(f"{where}：缺少坐标")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise GeoError(f"{where}：多边形须为环的列表")
        for ring in polygon:
            _check_ring(ring, where)
    return {"type": geometry["type"], "coordinates": coords}


def features_by_code(collection: Any, code_property: str = "code") -> dict[str, dict[str, Any]]:
    """{code as given: geometry} from a FeatureCollection; every feature needs the code property."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise GeoError("文件须为 GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise GeoError("FeatureCollection 中没有要素")
    out: dict[str, dict[str, Any]] = {}
    for i, feature in enumerate(features, start=1):
        where = f"第 {i} 个要素"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise GeoError(f"{where}：类型须为 Feature")
        props = feature.get("properties") or {}
        code = str(props.get(code_property) or "").strip() if isinstance(props, dict) else ""
        if not code:
            raise GeoError(f"{where}：缺少区划代码属性 {code_property}")
        if code in out:
            raise GeoError(f"{where}：区划代码 {code} 重复")
        out[code] = check_geometry(feature.get("geometry"), f"{where}（{code}）")
    return out
