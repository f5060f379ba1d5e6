"""The HTML map: folium base, our event/timeline plugin, offline asset bundle."""
