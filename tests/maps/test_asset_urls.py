"""What an HTML page loads by itself, as the offline check of standalone maps sees it."""

import pytest

from maps.render import asset_urls, external_urls

TEXT_URLS = """<html><body><div>见 http://evil.example/a.png 或 https://x.cn</div>
<a href="https://leafletjs.com">Leaflet</a>
<script>var data = {"txt": "http://evil.example/b.png \\"L.tileLayer(\\"https://t.example/\\""};
// https://github.com/brunob/leaflet.fullscreen
</script></body></html>"""


def test_urls_in_text_links_and_script_data_are_not_assets():
    assert asset_urls(TEXT_URLS) == []
    assert external_urls(TEXT_URLS) == []


def test_an_empty_page_loads_nothing():
    assert asset_urls("") == []


@pytest.mark.parametrize(
    ("page", "url"),
    [
        ('<script src="https://cdn.example/l.js"></script>', "https://cdn.example/l.js"),
        ('<link rel="stylesheet" href="//cdn.example/l.css">', "//cdn.example/l.css"),
        ('<img src="http://evil.example/i.png">', "http://evil.example/i.png"),
        ('<img srcset="/a.png 1x, https://e.example/b.png 2x">', "https://e.example/b.png"),
        ('<iframe src="https://e.example/"></iframe>', "https://e.example/"),
        ('<video poster="https://e.example/p.jpg"></video>', "https://e.example/p.jpg"),
        ('<svg><image href="https://e.example/s.png"/></svg>', "https://e.example/s.png"),
        (
            "<div style=\"background:url('https://e.example/bg.png')\"></div>",
            "https://e.example/bg.png",
        ),
        ("<style>.x{background:url(https://e.example/c.png)}</style>", "https://e.example/c.png"),
        ('<style>@import "https://e.example/f.css";</style>', "https://e.example/f.css"),
        (
            '<script>L.tileLayer(\n  "https://tile.example.org/{z}/{x}/{y}.png", {});</script>',
            "https://tile.example.org/{z}/{x}/{y}.png",
        ),
        ('<script>L.tileLayer.wms("ftp://w.example/wms", {});</script>', "ftp://w.example/wms"),
        (
            '<script>L.icon({"iconUrl": "https://e.example/m.png"});</script>',
            "https://e.example/m.png",
        ),
    ],
)
def test_each_kind_of_off_site_asset_is_found(page, url):
    assert external_urls(page) == [url]


def test_own_site_paths_and_data_uris_are_not_external():
    page = (
        '<script src="/static/maps/leaflet.js"></script>'
        "<style>.a{background:url(data:image/png;base64,AAAA)}</style>"
        '<img src="images/marker.png">'
    )
    assert asset_urls(page) == [
        "/static/maps/leaflet.js",
        "data:image/png;base64,AAAA",
        "images/marker.png",
    ]
    assert external_urls(page) == []


def test_an_allowed_tile_server_is_not_external():
    page = '<script>L.tileLayer("http://10.0.0.5/tiles/{z}/{x}/{y}.png", {});</script>'
    assert external_urls(page, allowed=("http://10.0.0.5/tiles/",)) == []
    assert external_urls(page) == ["http://10.0.0.5/tiles/{z}/{x}/{y}.png"]
