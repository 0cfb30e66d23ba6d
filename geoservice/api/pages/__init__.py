"""Field pages: server-rendered HTML for village cadres and department officers.

:mod:`~geoservice.api.pages.render` holds the Jinja2 environment; the routes are in
:mod:`geoservice.api.routes.pages`; what each page lists comes from :mod:`geoservice.tasks.lists`.
"""
