"""Web map pages of a workspace for the CLI and the service (drawn by :mod:`maps`).

- :mod:`~geoservice.webmaps.build`: the map products of a workspace, optionally for a caller;
- :mod:`~geoservice.webmaps.pages`: the light pages over vector tiles the service serves;
- :mod:`~geoservice.webmaps.status`: the status object those pages fetch to colour features;
- :mod:`~geoservice.webmaps.cache`: rendered pages cached by scope, arguments and data version.
"""
