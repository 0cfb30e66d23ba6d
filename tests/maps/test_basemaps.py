import pytest

from maps.basemaps import BasemapError, basemap


def test_no_basemap_by_default():
    assert basemap() is None
    assert basemap("none") is None


def test_intranet_tiles_are_not_online():
    chosen = basemap(url="http://10.0.0.5/tiles/{z}/{x}/{y}.png")
    assert not chosen.online
    assert chosen.url_prefixes() == ("http://10.0.0.5/tiles/",)


def test_tianditu_has_a_base_and_an_annotation_layer_with_the_key():
    chosen = basemap("tianditu-vec", key="K123")
    assert chosen.online
    assert [s.overlay for s in chosen.layers] == [False, True]
    assert all("tk=K123" in s.url for s in chosen.layers)
    assert "LAYER=vec" in chosen.layers[0].url and "LAYER=cva" in chosen.layers[1].url


def test_tianditu_without_a_key_says_how_to_set_it():
    with pytest.raises(BasemapError, match="GEOSERVICE_TIANDITU_KEY"):
        basemap("tianditu-img")


@pytest.mark.parametrize("name", ["gaode", "amap", "google"])
def test_other_basemaps_are_refused_and_gcj02_is_explained(name):
    with pytest.raises(BasemapError, match="GCJ-02"):
        basemap(name)
