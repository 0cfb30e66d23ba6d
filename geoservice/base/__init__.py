"""The bottom of the service: the workspace store and what every other package shares.

- :mod:`~geoservice.base.access`: service users, bearer tokens and what each role may see;
- :mod:`~geoservice.base.audit_log`: reading the audit log, filtered and paged;
- :mod:`~geoservice.base.cells`: spreadsheet cells that never run as formulas;
- :mod:`~geoservice.base.data_version`: a fingerprint of what a caller can see, for caches;
- :mod:`~geoservice.base.dates`: calendar dates given as ``YYYY-MM-DD`` text;
- :mod:`~geoservice.base.errors`: the service's exception tree;
- :mod:`~geoservice.base.gpkg_sql`: SQLite connections to the GeoPackage, geometry functions;
- :mod:`~geoservice.base.missing`: plain words for values the survey files did not give;
- :mod:`~geoservice.base.postgis_copy`: a workspace snapshot copied into a PostGIS schema;
- :mod:`~geoservice.base.postgis_restore`: a new workspace GeoPackage from such a copy;
- :mod:`~geoservice.base.records`: tables as JSON-ready records;
- :mod:`~geoservice.base.row_parts`: several one-row queries read in one statement;
- :mod:`~geoservice.base.scope`: which layers, and which of their rows, a caller may see;
- :mod:`~geoservice.base.settings`: the ``GEOSERVICE_`` settings class;
- :mod:`~geoservice.base.villages`: the villages layer and resolving a village by code or name;
- :mod:`~geoservice.base.workspace`: the workspace GeoPackage and its layer register;
- :mod:`~geoservice.base.workspace_coverage`: how rows got their village, counted in SQL;
- :mod:`~geoservice.base.workspace_file`: whether a path holds a GeoPackage workspace;
- :mod:`~geoservice.base.workspace_gate`: the workspace lock file and the GDAL/Python gate;
- :mod:`~geoservice.base.workspace_write`: register tables, frames and durable file writes.
"""
