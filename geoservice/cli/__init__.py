"""The ``geoservice`` command line (the only part of the service that imports typer and rich).

Where things are:

- ``app``: builds the root app from the command modules (:func:`~geoservice.cli.app.build_app`)
  and holds :func:`~geoservice.cli.app.main`, the console script.
- ``common``: what every command shares: the options (``--workspace``, ``--lang``,
  ``--json``, ``--as-of``, ``--rules``), the consoles, and :func:`~geoservice.cli.common.command`,
  the context each command body runs in (settings, workspace check, one-line errors, JSON
  or text output through :meth:`~geoservice.cli.common.Command.emit`).
- ``render``: text output used by several commands (import reports, the layer catalog).
- one module per command or command group, each with a ``register(app)`` that adds its
  commands: ``files`` (import, layers, export, sample), ``problems``, ``targets`` (list,
  show, update, history, act), ``campaign``,
  ``villages``, ``reports`` (report), ``maps`` (map), ``analysis`` (analyze, rules),
  ``demo``, ``service`` (serve, users), ``workspaces`` (``workspace copy``, to and from
  PostGIS) and ``dossier`` (``targets dossier``, added to the ``targets`` group).

Adding a command: write it in its module as ``def x_cmd(...)`` whose body is
``with command(workspace, lang, as_json) as cmd: ...``, and add it in that module's
``register``.
"""
