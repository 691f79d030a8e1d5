"""The public side: the case tracking page and the Open311 GeoReport v2 API."""
