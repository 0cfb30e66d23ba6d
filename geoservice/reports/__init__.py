"""Meeting reports built from the workspace (Article 9 of the collaboration rules).

- :mod:`~geoservice.reports.departments`: the numbers
  (:func:`~geoservice.reports.departments.department_report`);
- :mod:`~geoservice.reports.period_flags`: what happened to each problem and target in the
  period;
- :mod:`~geoservice.reports.findings`: the "problems and suggestions" section;
- :mod:`~geoservice.reports.html`: the report as one self-contained HTML file;
- :mod:`~geoservice.reports.xlsx`: the report as an Excel workbook.

The joint-enforcement work order of one target (联合执法任务书, Articles 8 and 10):

- :mod:`~geoservice.reports.dossier`: the document as HTML (template
  ``templates/dossier.html``) or PDF (WeasyPrint), one file or one per target;
- :mod:`~geoservice.reports.dossier_data`: the target and its evidence read from the
  workspace in the caller's scope;
- :mod:`~geoservice.reports.dossier_tables`: the evidence tables (complaints, patches,
  open problems) as display rows;
- :mod:`~geoservice.reports.dossier_threshold`: the criminal threshold that applies, with
  its citation from the rules;
- :mod:`~geoservice.reports.dossier_basis`: the departments with their duties and why each
  is there, the deadline (the one the analysis set on the target);
- :mod:`~geoservice.reports.dossier_words`: the document's fixed words and the articles it
  quotes.
"""

from __future__ import annotations

from geoservice.reports.departments import DepartmentReport, Finding, department_report

__all__ = ["DepartmentReport", "Finding", "department_report"]
