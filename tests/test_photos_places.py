"""Photos' fallback places (without reverse_geocode): GPS points named offline from the IANA
time-zone cities (tzdata's zone.tab) plus the bundled list; other points get a grid cell."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from extensions.photos.analysis import PLACE_RADIUS_KM, haversine_km
from extensions.photos.analysis import tz_place_for as place_for
from extensions.photos.gazetteer import cities, parse_iso3166, parse_zone_tab


def test_cities_beyond_the_bundled_fifteen_get_their_names():
    assert len(cities()) > 300
    assert place_for(41.0082, 28.9784)[1] == "Istanbul"
    assert place_for(40.4168, -3.7038)[1] == "Madrid"
    assert place_for(55.7558, 37.6173)[1] == "Moscow"
    assert place_for(-33.45, -70.66)[1] == "Santiago"
    assert place_for(59.92, 10.76) == ("city:Oslo", "Oslo", 59.9139, 10.7522)   # bundled wins
    assert sum(c["name"] == "Oslo" for c in cities()) == 1
    assert place_for(45.764, 4.8357)[:2] == ("grid:45.8,4.8", "45.8, 4.8")    # Lyon: no tz city near


def test_zone_tab_lines_parse_minutes_and_seconds():
    countries = parse_iso3166("#code\tname\nUS\tUnited States\nAQ\tAntarctica\n")
    got = parse_zone_tab("# comment\nUS\t+404251-0740023\tAmerica/New_York\tEastern\n"
                         "AQ\t-7750+16636\tAntarctica/McMurdo\nbad line\n", countries)
    assert got == [
        {"name": "New York", "lat": 40.7142, "lon": -74.0064, "country": "United States",
         "source": "tz"},
        {"name": "McMurdo", "lat": -77.8333, "lon": 166.6, "country": "Antarctica", "source": "tz"}]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_point_near_a_city_is_named_after_the_nearest_one(data):
    city = data.draw(st.sampled_from(cities()))
    lat = city["lat"] + data.draw(st.floats(-0.2, 0.2))
    lon = city["lon"] + data.draw(st.floats(-0.2, 0.2))
    lat = max(-90.0, min(90.0, lat))
    key, name, plat, plon = place_for(lat, lon)
    nearest = min(haversine_km(lat, lon, c["lat"], c["lon"]) for c in cities())
    if nearest <= PLACE_RADIUS_KM:
        assert haversine_km(lat, lon, plat, plon) == pytest.approx(nearest)
        assert key == f"city:{name}"
    else:
        assert key.startswith("grid:")
