"""The sample-data generator: a realistic town as real survey files (used by the CLI only).

- :mod:`~geoservice.sample.town`: the entry point: a town, county or province of files;
- :mod:`~geoservice.sample.terrain`: outline, land cells, rivers, villages and towns;
- :mod:`~geoservice.sample.parcels`: forest sub-compartments (小班) and wetland parcels;
- :mod:`~geoservice.sample.cases`: planted true risks and look-alikes that must not be flagged;
- :mod:`~geoservice.sample.case_text`: the Chinese complaints and problems of the cases;
- :mod:`~geoservice.sample.events`: background complaints, change patches and problems;
- :mod:`~geoservice.sample.forms`: what real deliveries do to the same facts;
- :mod:`~geoservice.sample.write`: delivered columns, ids and files;
- :mod:`~geoservice.sample.io`: byte-exact dBASE, shapefile, CSV and XLSX writers;
- :mod:`~geoservice.sample.text`: names, code lists and text templates.
"""
