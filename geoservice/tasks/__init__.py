"""What each person has to do: the records behind the field pages.

- :mod:`~geoservice.tasks.lists`: the task lists of a village, a department or the office;
- :mod:`~geoservice.tasks.detail`: one problem or target in detail, and village progress reports;
- :mod:`~geoservice.tasks.records`: the record types and how they are built from tables.
"""
