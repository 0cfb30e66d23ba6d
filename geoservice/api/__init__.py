"""The HTTP API: the only package that imports FastAPI.

:func:`~geoservice.api.app.create_app` builds the application from
:class:`~geoservice.base.settings.Settings`; nothing happens at import time. Route modules live in
:mod:`geoservice.api.routes`, one ``router`` each; they resolve the caller and the objects
through :mod:`geoservice.api.deps`, call one core function and return a model.
"""
