"""OGC API - Features (Part 1, read only) over the workspace, scoped to the caller.

- :mod:`~geoservice.ogc.features`: landing page, conformance, collections and items;
- :mod:`~geoservice.ogc.params`: the items query parameters, checked and parsed;
- :mod:`~geoservice.ogc.geojson`: features in CRS84 with values as client text.
"""
