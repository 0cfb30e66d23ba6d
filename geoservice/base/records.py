"""Tables as JSON-ready records, shared by the web answers and the workflow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_records"]


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN/NA → None, dates → ``YYYY-MM-DD``, numpy → Python."""
    clean = frame.astype(object).where(frame.notna(), None)
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            days = frame[col].dt.strftime("%Y-%m-%d").astype(object)
            clean[col] = days.where(frame[col].notna(), None)
    rows: list[dict[str, Any]] = clean.to_dict("records")
    return [{k: v.item() if isinstance(v, np.generic) else v for k, v in r.items()} for r in rows]
