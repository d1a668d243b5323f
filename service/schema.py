"""Part of the index format, not code to import: every Whoosh segment pickles its analyser by the
name ``service.schema.HealthAnalyzer``, so that name must keep resolving for the versions already
on disk (and is still what a build writes: see service/index/schema.py)."""

from service.index.schema import HealthAnalyzer

__all__ = ["HealthAnalyzer"]
