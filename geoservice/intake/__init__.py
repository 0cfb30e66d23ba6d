"""Live complaint intake: one complaint at a time, located and scored at once.

- :mod:`~geoservice.intake.checks`: checks of a filed complaint, each refusal naming the field;
- :mod:`~geoservice.intake.complaints`: store a complaint, locate it, re-score its parcels;
- :mod:`~geoservice.intake.complaint_access`: who may read a stored complaint;
- :mod:`~geoservice.intake.score`: re-scored parcels written into ``parcel_risk`` in place;
- :mod:`~geoservice.intake.store`: the SQLite side of complaint storage;
- :mod:`~geoservice.intake.text`: the answer: where the complaint landed, what it changed;
- :mod:`~geoservice.intake.warm`: what the intake keeps in memory of the workspace and how
  it notices the workspace changed.
"""
