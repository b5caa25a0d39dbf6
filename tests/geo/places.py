"""Real places whose longitude and latitude differ a lot, so an axis swap fails loudly."""

from geo.coords import LngLat

CHAVENAY = LngLat(lng=1.99, lat=48.85)
"""Village west of Paris; swapped it would sit in the Indian Ocean off Somalia."""

CHAVENAY_SWAPPED = LngLat(lng=48.85, lat=1.99)

VERSAILLES = LngLat(lng=2.1301, lat=48.8049)
