"""The ellipsoid every metre in `geo/` is measured on.

WGS84 is the spheroid PostGIS `geography` uses, so areas and distances computed here agree
with the database to well under a metre. `Geod` holds only constants, so sharing one is safe.
"""

from pyproj import Geod

WGS84 = Geod(ellps="WGS84")
