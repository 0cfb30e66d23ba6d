"""The input side: what each layer is and how survey files become clean layers.

Depends on geopandas, shapely, pyogrio and pyproj only; knows nothing of maps or HTTP.
"""
