"""From notebook to production: save the model a result stands for as a verified package, and load it safely.

`save(result, path)` (called as ``result.save(path)``) writes model.skops, a
manifest with hashes, versions, schema, scores and timings, pinned
requirements, an input example and the run's report (MLflow's model format
with ``format="mlflow"``); `load(path)` verifies it and returns a model that
checks its input. docs/production.md explains what is written and why.
"""
from .checked import CheckedModel
from .package import FORMATS, PickleWarning, SavedModel, VersionWarning, load, save

__all__ = ["save", "load", "SavedModel", "CheckedModel", "FORMATS", "PickleWarning", "VersionWarning"]
