"""Meeting reports built from the workspace (Article 9 of the collaboration rules).

- :mod:`~geoservice.reports.departments`: the numbers
  (:func:`~geoservice.reports.departments.department_report`);
- :mod:`~geoservice.reports.period_flags`: what happened to each problem and target in the
  period;
- :mod:`~geoservice.reports.findings`: the "problems and suggestions" section;
- :mod:`~geoservice.reports.html`: the report as one self-contained HTML file;
- :mod:`~geoservice.reports.xlsx`: the report as an Excel workbook.
"""

from __future__ import annotations

from geoservice.reports.departments import DepartmentReport, Finding, department_report

__all__ = ["DepartmentReport", "Finding", "department_report"]
