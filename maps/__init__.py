"""The output side for eyes: offline folium map products built from layers-schema frames,
and still images for print drawn with matplotlib (:mod:`maps.figure`)."""
