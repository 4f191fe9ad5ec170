"""What a saved model says about itself: the manifest, its hashes, the data schema, versions and requirements.

`manifest.json` records every file's sha256 and, in ``manifest_sha256``, the
hash of its own canonical JSON (without that field), so a changed byte in any
file, or an edited manifest, is refused on load. That proves integrity, not
authorship: whoever can rewrite the whole directory can recompute both, which
is why `SavedModel.manifest_sha256` is worth keeping apart (a registry, a
deployment config) and passing to ``load(path, sha256=...)``.
"""
import hashlib
import json
import os
import platform
import sys
import zipfile

from ..errors import ConfigError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SELF_HASH = "manifest_sha256"
CORE_PACKAGES = ("numpy", "scipy", "scikit-learn", "skops")
MODEL_FILES = {"skops": "model.skops", "mlflow": "model.skops", "joblib": "model.joblib"}


# -- hashes -------------------------------------------------------------------------------------------
def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def canonical(manifest):
    """The bytes the manifest's own hash covers: sorted keys, no whitespace, without the hash field."""
    body = {k: v for k, v in manifest.items() if k != SELF_HASH}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def file_hashes(directory):
    """sha256 of every file below `directory` except the manifest, by path relative to it ('/'-separated)."""
    from .sources import sha256_file

    hashes = {}
    for root, _, names in os.walk(directory):
        for name in names:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, directory).replace(os.sep, "/")
            if rel != MANIFEST:
                hashes[rel] = sha256_file(full)
    return dict(sorted(hashes.items()))


def write_manifest(directory, manifest):
    """Write manifest.json with its own hash; return that hash."""
    manifest = dict(manifest)
    manifest[SELF_HASH] = sha256_bytes(canonical(manifest))
    with open(os.path.join(directory, MANIFEST), "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True, allow_nan=False)
        handle.write("\n")
    return manifest[SELF_HASH]


def read_verified(directory, expected_sha256=None):
    """The manifest, after checking its own hash, `expected_sha256` when given, and every file's hash.

    Each failure is one ConfigError line naming the file.
    """
    path = os.path.join(directory, MANIFEST)
    if not os.path.isdir(directory):
        raise ConfigError(f"no saved model at {directory!r}: not a directory")
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{directory!r} has no {MANIFEST}: it was not written by mlestar-nb save()") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"{MANIFEST} in {directory!r} is not valid JSON ({err}); it was changed after saving") \
            from None
    if not isinstance(manifest, dict) or SELF_HASH not in manifest:
        raise ConfigError(f"{MANIFEST} in {directory!r} has no {SELF_HASH}; it was not written by mlestar-nb save()")
    if sha256_bytes(canonical(manifest)) != manifest[SELF_HASH]:
        raise ConfigError(f"{MANIFEST} was changed after saving (its contents no longer match its "
                          f"{SELF_HASH}); refusing to load {directory!r}")
    if expected_sha256 is not None and manifest[SELF_HASH] != expected_sha256:
        raise ConfigError(f"{MANIFEST} has sha256 {manifest[SELF_HASH][:16]}..., not the expected "
                          f"{str(expected_sha256)[:16]}...: this is not the package you pinned")
    if manifest.get("schema_version", 0) > SCHEMA_VERSION:
        raise ConfigError(f"the package has manifest schema {manifest['schema_version']}, newer than this "
                          f"mlestar-nb reads ({SCHEMA_VERSION}); upgrade mlestar-nb")
    from .sources import sha256_file

    for rel, digest in manifest.get("files", {}).items():
        full = os.path.join(directory, *rel.split("/"))
        if not os.path.isfile(full):
            raise ConfigError(f"{rel} is missing from {directory!r} (the manifest lists it)")
        if sha256_file(full) != digest:
            raise ConfigError(f"{rel} was changed after saving (its sha256 does not match the manifest); "
                              f"refusing to load {directory!r}")
    return manifest


# -- what the model is made of -----------------------------------------------------------------------
def skops_modules(data):
    """Every module named in the schema of a .skops file's bytes (the classes its objects come from)."""
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found = set()

    def walk(node):
        if isinstance(node, dict):
            module = node.get("__module__")
            if isinstance(module, str):
                found.add(module)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def distributions(modules):
    """{distribution: version} for the top-level packages of `modules`, and the modules no installed
    distribution provides (a class defined in the notebook: __main__)."""
    from importlib import metadata

    by_package = metadata.packages_distributions()
    found, orphans = {}, []
    for top in sorted({m.split(".")[0] for m in modules} - {"builtins"}):
        dists = by_package.get(top)
        if not dists:
            if top not in sys.builtin_module_names and top not in getattr(sys, "stdlib_module_names", ()):
                orphans.append(top)
            continue
        found[dists[0]] = metadata.version(dists[0])
    return found, orphans


def versions(model_distributions):
    """Python, the core packages, mlestar-nb and every package the model's classes come from."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in CORE_PACKAGES + ("mlestar-nb",):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "mlestar-nb":
                from .. import __version__
                out[name] = __version__
    out.update(model_distributions)
    return dict(sorted(out.items()))


def requirements(version_map, schema):
    """Pinned requirements: what loading and checking the model needs (pandas when it takes named columns)."""
    names = [n for n in version_map if n != "python"]
    if schema.get("feature_names"):
        try:
            from importlib import metadata
            version_map = {**version_map, "pandas": metadata.version("pandas")}
            names.append("pandas")
        except Exception:  # pandas missing: the model was fitted on named columns some other way
            pass
    return sorted({f"{n}=={version_map[n]}" for n in names})


# -- the data ------------------------------------------------------------------------------------------
def data_schema(estimator, X, y):
    """Number of features, their names and dtypes where known, the task and its classes."""
    from sklearn.base import is_classifier, is_regressor

    names = getattr(estimator, "feature_names_in_", None)
    if names is None and hasattr(X, "columns"):
        names = X.columns
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None and X is not None:
        n_features = int(getattr(X, "shape", (0, len(X[0])))[1])
    schema = {"n_features": None if n_features is None else int(n_features),
              "feature_names": None if names is None else [str(n) for n in names],
              "dtypes": None, "task": "classification" if is_classifier(estimator) else
              "regression" if is_regressor(estimator) else "other",
              "classes": None, "input": None}
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        schema["dtypes"] = {str(c): str(d) for c, d in X.dtypes.items()}
        schema["input"] = "DataFrame"
    elif X is not None:
        import numpy as np

        schema["dtypes"] = {"*": str(np.asarray(X).dtype)}
        schema["input"] = "array"
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        schema["classes"] = [_plain(c) for c in classes]
    if y is not None:
        import numpy as np
        from sklearn.utils.multiclass import type_of_target

        try:
            schema["target"] = {"type": type_of_target(y), "dtype": str(np.asarray(y).dtype)}
        except ValueError:
            schema["target"] = {"type": "unknown", "dtype": str(np.asarray(y).dtype)}
    return schema


def fingerprint(X, y):
    """sha256 over the training rows (values, column names and dtypes) and the target; None without data."""
    if X is None:
        return None
    digest = hashlib.sha256()
    for part in (X, y):
        _feed(digest, part)
    return {"sha256": digest.hexdigest(), "rows": int(len(X)),
            "method": "sha256 of X then y (pandas: hash_pandas_object per row, with names and dtypes; "
                      "arrays: dtype, shape and bytes)"}


def _feed(digest, value):
    import numpy as np

    if value is None:
        digest.update(b"<none>")
        return
    if hasattr(value, "dtypes") or (hasattr(value, "dtype") and hasattr(value, "index")):   # pandas
        import pandas as pd

        columns = list(value.columns) if hasattr(value, "columns") else [value.name]
        dtypes = list(value.dtypes) if hasattr(value, "columns") else [value.dtype]
        digest.update(repr([str(c) for c in columns]).encode() + repr([str(d) for d in dtypes]).encode())
        digest.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
        return
    array = np.asarray(value)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype.kind == "O":
        digest.update(repr(array.tolist()).encode())
    else:
        digest.update(np.ascontiguousarray(array).tobytes())


def input_example(X, rows=5):
    """The first rows of X as JSON: pandas' "split" layout for a DataFrame (what MLflow writes), else {"inputs": rows}."""
    if X is None:
        return None
    if hasattr(X, "iloc"):
        head = X.iloc[:rows]
        return {"columns": [str(c) for c in head.columns],
                "data": [[_plain(v) for v in row] for row in head.itertuples(index=False)]}
    import numpy as np

    return {"inputs": [[_plain(v) for v in row] for row in np.asarray(X)[:rows]]}


def _plain(value):
    """A numpy scalar as the Python value it stands for; NaN as None (JSON has no NaN)."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        value = item()
    if isinstance(value, float) and value != value:
        return None
    return value


def environment():
    return {"host": platform.node(), "platform": platform.platform(), "machine": platform.machine()}
