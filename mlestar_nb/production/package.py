"""`save()` and `load()`: a fitted model as a directory a colleague or a server can take as it is.

The directory is written beside its final place and renamed into it at the end,
so a failure leaves nothing half-written and an existing package is replaced
only with ``overwrite=True``. What goes in, and why, is in docs/production.md.
"""
import datetime
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..results import Result, table_html
from . import manifest as mf
from .sources import model_source
from .timing import prediction_latency

FORMATS = ("skops", "mlflow", "joblib")
PICKLE_WARNING = ("format='joblib' writes a pickle, which runs arbitrary code when it is loaded: share it only "
                  "with people who trust you, and prefer the default format='skops'")


class PickleWarning(UserWarning):
    """A package holds a pickle (format='joblib')."""


class VersionWarning(UserWarning):
    """The loading Python has other package versions than the saving one."""


@dataclass(repr=False)
class SavedModel(Result):
    """What `save()` wrote: where, the manifest's own sha256 (keep it to pin the package), the files."""

    path: str
    manifest_sha256: str
    format: str
    files: dict                     # relative path -> sha256
    sizes: dict                     # relative path -> bytes
    origin: str = ""
    trusted_types: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    css_class = "mlestar-saved"

    def summary_lines(self):
        total = sum(self.sizes.values())
        lines = [f"SavedModel at {self.path} ({self.format}, {len(self.files) + 1} files, {_size(total)}): "
                 f"{self.origin}",
                 f"  manifest sha256 {self.manifest_sha256}",
                 f"  load it with mlestar_nb.load({self.path!r}, sha256='{self.manifest_sha256[:12]}...')"]
        if self.trusted_types:
            lines.append(f"  types skops asks to trust (listed in the manifest): {', '.join(self.trusted_types)}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return lines

    def _html(self):
        import html

        rows = [[html.escape(name), _size(self.sizes.get(name, 0)), f"<code>{digest[:16]}...</code>"]
                for name, digest in self.files.items()]
        return (f"<b>SavedModel</b> at <code>{html.escape(self.path)}</code> ({self.format}): "
                f"{html.escape(self.origin)}<div>manifest sha256 <code>{self.manifest_sha256}</code></div>"
                + table_html(["file", "size", "sha256"], rows)
                + "".join(f"<div><i>note: {html.escape(n)}</i></div>" for n in self.notes))

    def _frame(self):
        return [{"file": k, "bytes": self.sizes.get(k), "sha256": v} for k, v in self.files.items()], "file"


def save(result, path, *, model=None, data=None, trial=None, format="skops", overwrite=False):
    """Write the model of `result` as a package in directory `path` (see `Result.save`)."""
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if format == "mlflow":
        _require_mlflow()
    target = os.path.abspath(os.fspath(path))
    if os.path.exists(target) and not (os.path.isdir(target) and not os.listdir(target)) and not overwrite:
        raise ConfigError(f"{path} already exists; pass overwrite=True to replace it, or choose another path")
    source = model_source(result, model=model, data=data, trial=trial)
    if format == "joblib":
        warnings.warn(PICKLE_WARNING, PickleWarning, stacklevel=3)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.saving-", dir=parent)
    os.chmod(staging, 0o777 & ~_umask())   # mkdtemp's folder is private; the package is as readable as any new one
    try:
        saved = _write(result, source, staging, format)
        if os.path.exists(target):
            shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    saved.path = os.fspath(path)
    return saved


def _write(result, source, directory, format):
    clock = time.perf_counter()
    model_file = mf.MODEL_FILES[format]
    model_path = os.path.join(directory, model_file)
    data, trusted, modules = _inspect(source.estimator)
    dists, orphans = mf.distributions(modules)
    version_map = mf.versions(dists)
    schema = mf.data_schema(source.estimator, source.X, source.y)
    reqs = mf.requirements(version_map, schema)
    if format == "mlflow":   # MLflow writes the model, requirements.txt and input_example.json itself
        from .mlflow_format import write_mlflow

        write_mlflow(source.estimator, directory, trusted, source.X, reqs)
    else:
        if format == "skops":
            with open(model_path, "wb") as out:
                out.write(data)
        else:
            import joblib

            joblib.dump(source.estimator, model_path)
        _write_text(directory, "requirements.txt",
                    "# what loading this model needs, pinned (written by mlestar-nb save())\n" + "\n".join(reqs) + "\n")
        example = mf.input_example(source.X)
        if example is not None:
            _write_text(directory, "input_example.json", json.dumps(example, allow_nan=False) + "\n")
    notes = []
    if orphans:
        notes.append(f"the model holds classes from {', '.join(orphans)}, which no installed package provides "
                     "(defined in the notebook?): they will not load elsewhere; move them into a module")
    outside = [t for t in trusted if not t.startswith("sklearn.")]
    if outside:
        notes.append(f"types from outside scikit-learn must be trusted by name when loading: "
                     f"mlestar_nb.load(path, trusted={outside!r})")
    manifest = {
        "schema_version": mf.SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "format": format, "model_file": model_file, "model_class": _class_name(source.estimator),
        "origin": source.origin, "versions": version_map, "requirements": reqs,
        "environment": mf.environment(),
        "best": {"params": _jsonable(source.params), "score": _jsonable(source.score)},
        "cv": {"scores": _jsonable(source.cv_scores), "scoring": source.scoring, "splitter": source.splitter},
        "data_schema": _jsonable(schema), "data_fingerprint": mf.fingerprint(source.X, source.y),
        "search": _jsonable(source.search),
        "model_size_bytes": os.path.getsize(model_path),
        "latency": prediction_latency(source.estimator, source.X),
        "trusted_types": trusted, "notes": notes,
    }
    _write_report(result, directory, manifest)
    manifest["save_s"] = time.perf_counter() - clock
    manifest["files"] = mf.file_hashes(directory)
    digest = mf.write_manifest(directory, manifest)
    sizes = {rel: os.path.getsize(os.path.join(directory, *rel.split("/"))) for rel in manifest["files"]}
    return SavedModel(path=directory, manifest_sha256=digest, format=format, files=manifest["files"], sizes=sizes,
                      origin=source.origin, trusted_types=trusted, notes=notes)


def _inspect(estimator):
    """The model as skops bytes, the types skops asks to trust, and the modules its objects come from
    (for every format: skops' schema is how we learn which classes the model holds)."""
    import skops.io as sio

    data = sio.dumps(estimator)
    trusted = sorted(sio.get_untrusted_types(data=data))
    return data, trusted, mf.skops_modules(data)


def _write_report(result, directory, manifest):
    from ..report import write_report

    write_report(result, os.path.join(directory, "report.html"), package=manifest)


# -- loading -----------------------------------------------------------------------------------------
def load(path, *, trusted=(), sha256=None, allow_pickle=False):
    """Load a package written by `save()`: verified, type-checked, ready to predict.

    Every file's sha256 is checked against the manifest, and the manifest against its own hash (and against
    `sha256` when given: the `SavedModel.manifest_sha256` you kept). skops loads only the types the manifest
    lists; of those, types from outside scikit-learn must also be named in `trusted`. A joblib package
    (a pickle) loads only with ``allow_pickle=True``. Versions that differ from the saving ones are warned
    about. Returns a `CheckedModel`: the estimator, checking each input against the saved schema.
    """
    from .checked import CheckedModel

    directory = os.fspath(path)
    manifest = mf.read_verified(directory, expected_sha256=sha256)
    model_path = os.path.join(directory, manifest["model_file"])
    if manifest["format"] == "joblib":
        if not allow_pickle:
            raise ConfigError(f"{manifest['model_file']} is a pickle (format='joblib'), which runs code when "
                              "loaded; load(path, allow_pickle=True) only if you trust where it came from")
        import joblib

        estimator = joblib.load(model_path)
    else:
        estimator = _load_skops(model_path, manifest, trusted)
    _warn_versions(manifest)
    return CheckedModel(estimator, manifest, directory)


def _load_skops(model_path, manifest, trusted):
    import skops.io as sio

    if isinstance(trusted, str):
        trusted = [trusted]
    listed = set(manifest.get("trusted_types") or ())
    found = sio.get_untrusted_types(file=model_path)
    unlisted = [t for t in found if t not in listed]
    if unlisted:
        raise ConfigError(f"{manifest['model_file']} holds types the manifest does not list: {', '.join(unlisted)}; "
                          "refusing to load")
    needs_you = [t for t in found if not t.startswith("sklearn.") and t not in trusted]
    if needs_you:
        raise ConfigError(f"{manifest['model_file']} holds types from outside scikit-learn: {', '.join(needs_you)}; "
                          f"review them, then load(path, trusted={needs_you!r})")
    return sio.load(model_path, trusted=found)


def _warn_versions(manifest):
    from importlib import metadata
    import platform

    saved = manifest.get("versions") or {}
    differ = []
    for name, version in saved.items():
        if name == "python":
            here = platform.python_version()
            if here.split(".")[:2] != version.split(".")[:2]:
                differ.append(f"Python {version} -> {here}")
            continue
        try:
            here = metadata.version(name)
        except metadata.PackageNotFoundError:
            here = "not installed"
        if here != version and name != "mlestar-nb":
            differ.append(f"{name} {version} -> {here}")
    if differ:
        warnings.warn("the model was saved with other versions than this Python has (" + "; ".join(differ)
                      + "): predictions may differ; install requirements.txt to match", VersionWarning, stacklevel=3)


# -- small pieces -------------------------------------------------------------------------------------
def _require_mlflow():
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError("format='mlflow' needs mlflow: pip install mlflow") from None


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_text(directory, name, text):
    with open(os.path.join(directory, name), "w") as handle:
        handle.write(text)


def _class_name(obj):
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _jsonable(value):
    """Plain JSON values: numpy scalars unwrapped, other objects by their repr."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    value = mf._plain(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return repr(value)


def _size(n):
    from ..runs.limits import format_bytes

    return format_bytes(n)
