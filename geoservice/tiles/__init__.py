"""Vector tiles (Mapbox Vector Tile, Web Mercator XYZ grid) of the workspace's layers.

:mod:`geoservice.tiles.grid` parses and bounds tile addresses, :mod:`geoservice.tiles.specs`
says which attributes each layer carries at which zoom, :mod:`geoservice.tiles.cut` cuts and
encodes features, :mod:`geoservice.tiles.serve` answers one tile for one caller (with its
ETag) and :mod:`geoservice.tiles.build` writes a static tile set (a folder or PMTiles).
Nothing here knows about HTTP.
"""
