"""Meeting reports built from the workspace (Article 9 of the collaboration rules).

:func:`~geoservice.reports.departments.department_report` computes the numbers;
:mod:`~geoservice.reports.html` and :mod:`~geoservice.reports.xlsx` lay them out.
"""

from __future__ import annotations

from geoservice.reports.departments import DepartmentReport, Finding, department_report

__all__ = ["DepartmentReport", "Finding", "department_report"]
