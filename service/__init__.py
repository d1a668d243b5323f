"""Passage search over a consumer-health site's articles."""
