"""Survey files in and out of the workspace.

- :mod:`~geoservice.files.importing`: read a survey file, choose its CRS, merge and store it;
- :mod:`~geoservice.files.shrink`: refuse a replace import that would halve a layer;
- :mod:`~geoservice.files.exporting`: workspace layers to files other systems read;
- :mod:`~geoservice.files.target_export`: the targets a caller may see, as a file.
- :mod:`~geoservice.files.register`: the sharing register of layers, as a caller may read it.
"""
