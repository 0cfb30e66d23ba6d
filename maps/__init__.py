"""The output side for eyes: offline folium map products built from layers-schema frames."""
