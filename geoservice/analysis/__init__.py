"""Risk of serious damage and joint-enforcement targets (Articles 8 and 10).

Design: ``docs/design.md#scoring-and-targets`` and
``docs/design.md#department-registry-and-routing``.

- :mod:`~geoservice.analysis.run`: one analysis run: read, score, build targets, store;
- :mod:`~geoservice.analysis.run_summary`: a run's summary and the latest run record;
- :mod:`~geoservice.analysis.rules`: the rules file of weights, thresholds, keywords, routing;
- :mod:`~geoservice.analysis.rules_sections`: one strict model per section of the rules file;
- :mod:`~geoservice.analysis.rules_cache`: the effective rules, parsed once per file version;
- :mod:`~geoservice.analysis.effective_rules`: the rules and names in force for a service;
- :mod:`~geoservice.analysis.complaints`: which complaints count for which parcel, how much;
- :mod:`~geoservice.analysis.evidence_pairs`: the same for change patches and problems;
- :mod:`~geoservice.analysis.evidence_items`: the evidence of flagged parcels as one table;
- :mod:`~geoservice.analysis.scoring`: parcel scores times protection value, and flags;
- :mod:`~geoservice.analysis.row_lists`: per-parcel id lists and ranked categories;
- :mod:`~geoservice.analysis.spatial`: points within a distance of polygons, vectorised;
- :mod:`~geoservice.analysis.polygon_pairs`: polygon overlaps and polygons near each other;
- :mod:`~geoservice.analysis.edges`: the exact point-to-polygon distance test;
- :mod:`~geoservice.analysis.targets`: flagged parcels grouped, ranked and routed;
- :mod:`~geoservice.analysis.target_totals`: per-target totals, each item counted once;
- :mod:`~geoservice.analysis.routing`: the lead and cooperating departments of a target;
- :mod:`~geoservice.analysis.reasons`: a target's reasons in plain Chinese or English;
- :mod:`~geoservice.analysis.labels`: article citations, category names, the rules table;
- :mod:`~geoservice.analysis.present`: targets as a department clerk reads them;
- :mod:`~geoservice.analysis.target_queries`: targets for a caller: filters, one, GeoJSON;
- :mod:`~geoservice.analysis.identity`: new targets keep the ids of the targets they continue;
- :mod:`~geoservice.analysis.deadlines`: each target's deadline, kept across re-analyses;
- :mod:`~geoservice.analysis.target_register`: every target ever issued, its state, history
  and lineage, apart from the ``targets`` layer;
- :mod:`~geoservice.analysis.lanes`: the calling thread and, when asked, a thread pool;
- :mod:`~geoservice.analysis.pause`: process settings batch entry points run it under.
"""
