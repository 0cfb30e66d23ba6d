"""The HTTP API: the only package that imports FastAPI.

:func:`~geoservice.api.app.create_app` builds the application from
:class:`~geoservice.base.settings.Settings`; nothing happens at import time. Route modules live in
:mod:`geoservice.api.routes`, one ``router`` each; they resolve the caller and the objects
through :mod:`geoservice.api.deps`, call one core function and return a model.

- :mod:`~geoservice.api.app`: :func:`~geoservice.api.app.create_app`, routers and middleware;
- :mod:`~geoservice.api.deps`: settings, workspace, caller, rules and audit for the routes;
- :mod:`~geoservice.api.errors`: domain errors to HTTP status, in one table;
- :mod:`~geoservice.api.routes`: one module per group of endpoints;
- :mod:`~geoservice.api.pages`: the server-rendered field pages (templates, words, static);
- :mod:`~geoservice.api.csrf`: changes signed by the sign-in cookie come from our own pages;
- :mod:`~geoservice.api.headers`: security headers on every response;
- :mod:`~geoservice.api.limits`: size limits of text fields and request bodies;
- :mod:`~geoservice.api.throttle`: rate limit of failed sign-ins, per client address;
- :mod:`~geoservice.api.origin`: the service's own address and trusted proxies;
- :mod:`~geoservice.api.paths`: server paths kept out of error messages;
- :mod:`~geoservice.api.refusals`: audit of "not found" refusals;
- :mod:`~geoservice.api.responses`: file downloads and cached static assets.
"""
