"""The input side: what each layer is and how survey files become clean layers.

Depends on geopandas, shapely, pyogrio and pyproj only; knows nothing of maps or HTTP.
"""

from layers.errors import LayersError
from layers.reader import read_layer
from layers.report import ImportReport
from layers.schema import KINDS, SCHEMAS

__all__ = ["KINDS", "SCHEMAS", "ImportReport", "LayersError", "read_layer"]
