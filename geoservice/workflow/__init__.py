"""Inspection and rectification (Article 7): problems, campaigns, history; enforcement
target outcomes (Articles 8, 11).

Design: ``docs/design.md#workflow-states``.

- :mod:`~geoservice.workflow.states`: the problem states and the allowed transitions;
- :mod:`~geoservice.workflow.access_rules`: who may see and move which problem; problems as
  JSON records;
- :mod:`~geoservice.workflow.store`: the workflow tables in the workspace and in-place,
  version-checked status changes;
- :mod:`~geoservice.workflow.records`: problems found by hand and campaigns, written in place;
- :mod:`~geoservice.workflow.imports`: importing a problem list without losing workflow
  state;
- :mod:`~geoservice.workflow.problem_actions`: what a caller does with problems: list, read,
  add, move on, attach photos;
- :mod:`~geoservice.workflow.photos`: rectification photos: checked, cleaned and stored;
- :mod:`~geoservice.workflow.uploads`: survey files uploaded over the web: who may import
  what, and the import;
- :mod:`~geoservice.workflow.target_states`: the enforcement target states and transitions;
- :mod:`~geoservice.workflow.target_store`: version-checked target state changes and
  department action records;
- :mod:`~geoservice.workflow.target_actions`: what a caller does with targets: list, read,
  move on, record actions, and who may;
- :mod:`~geoservice.workflow.escalation`: overdue days and escalation levels at a date;
- :mod:`~geoservice.workflow.villages`: village name matching and the per-village status.
"""
