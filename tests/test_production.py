"""Saving the best model and loading it elsewhere, safely (issue: from notebook to production).

Every round trip loads in a fresh Python process, as a colleague or a server would; tampering is done to real
files; MLflow's own loader and server read the MLflow package.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
import warnings

import numpy as np
import pytest

import mlestar_nb
from mlestar_nb.errors import ConfigError
from mlestar_nb.production import PickleWarning, VersionWarning
from mlestar_nb.production.manifest import write_manifest

from conftest import run
from web import wait_until_answering

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MIXED_DATA = """
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
rng = np.random.default_rng(0)
frame = pd.DataFrame({"tenure": rng.normal(24, 10, 300), "spend": rng.gamma(2.0, 30.0, 300),
                      "plan": rng.choice(["basic", "plus", "pro"], 300)})
churn = (((frame.tenure < 20) | (frame.plan == "basic")) ^ (rng.random(300) < 0.1)).astype(int).to_numpy()
pipe = Pipeline([("prep", ColumnTransformer([("num", StandardScaler(), ["tenure", "spend"]),
                                            ("cat", OneHotEncoder(), ["plan"])])),
                 ("model", LogisticRegression(C=0.01, max_iter=500))])
"""


def in_fresh_python(code, *args, env=None):
    """Run `code` in a new interpreter (this worktree first on its path); return its stdout."""
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


LOAD_AND_PREDICT = """
import sys, json, numpy as np, pandas as pd, mlestar_nb
model = mlestar_nb.load(sys.argv[1], sha256=sys.argv[2])
X = pd.read_pickle(sys.argv[3])   # the test's own rows, exactly
np.save(sys.argv[4], model.predict_proba(X))
try:
    model.predict(X.drop(columns=["spend"]))
except mlestar_nb.ConfigError as err:
    print("ERROR", err)
try:
    model.predict(X.to_numpy())
except mlestar_nb.ConfigError as err:
    print("ERROR", err)
print("CLASSES", json.dumps(model.classes_.tolist()))
"""


def test_a_refined_column_transformer_pipeline_round_trips_in_a_fresh_process(ns, tmp_path):
    run(ns, MIXED_DATA)
    ns.run_line_magic("mlestar_refine", "pipe --data frame churn --rounds 1 --trials 4 --holdout 0 --ensemble none "
                                        "--cv 3 --jobs 2 --quiet --out refined")
    refined = ns.user_ns["refined"]
    saved = refined.save(tmp_path / "models" / "churn-v1")
    package = tmp_path / "models" / "churn-v1"
    assert sorted(os.listdir(package)) == ["input_example.json", "manifest.json", "model.skops", "report.html",
                                           "requirements.txt"]
    frame = ns.user_ns["frame"]
    frame.to_pickle(tmp_path / "rows.pkl")
    out = in_fresh_python(LOAD_AND_PREDICT, package, saved.manifest_sha256, tmp_path / "rows.pkl",
                          tmp_path / "pred.npy")
    assert np.array_equal(np.load(tmp_path / "pred.npy"), refined.best_pipeline.predict_proba(frame))
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert "missing spend" in errors[0] and "expects 3 columns: tenure, spend, plan" in errors[0]
    assert "trained on a DataFrame with columns tenure, spend, plan" in errors[1] and "not a ndarray" in errors[1]
    assert "CLASSES [0, 1]" in out

    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["format"] == "skops"
    assert manifest["data_schema"]["feature_names"] == ["tenure", "spend", "plan"]
    assert manifest["data_schema"]["dtypes"]["plan"] in ("object", "str", "string")
    assert manifest["data_schema"]["dtypes"]["tenure"] == "float64"
    assert manifest["data_schema"]["classes"] == [0, 1] and manifest["data_schema"]["task"] == "classification"
    assert manifest["best"]["score"] == refined.best_score
    assert len(manifest["cv"]["scores"]) == 9 and manifest["cv"]["scoring"] == "accuracy"
    assert manifest["cv"]["splitter"].startswith("RepeatedStratifiedKFold(n_splits=3, n_repeats=3")
    assert manifest["data_fingerprint"]["rows"] == 300 and len(manifest["data_fingerprint"]["sha256"]) == 64
    assert manifest["search"]["kind"] == "refinement" and manifest["search"]["rounds"] == 1
    for size in ("1_row", "1000_rows"):
        figures = manifest["latency"][size]
        assert 0 < figures["median_ms"] <= figures["p95_ms"] and figures["calls"] >= 3
    assert manifest["model_size_bytes"] == os.path.getsize(package / "model.skops")
    assert {"python", "numpy", "scikit-learn", "skops", "mlestar-nb"} <= set(manifest["versions"])
    assert set(manifest["files"]) == {"model.skops", "requirements.txt", "input_example.json", "report.html"}
    assert manifest["trusted_types"] == []
    requirements = (package / "requirements.txt").read_text()
    assert f"scikit-learn=={manifest['versions']['scikit-learn']}" in requirements and "skops==" in requirements
    example = json.loads((package / "input_example.json").read_text())
    assert example["columns"] == ["tenure", "spend", "plan"] and len(example["data"]) == 5
    assert "id='rounds'" in (package / "report.html").read_text()


def test_a_search_saves_its_best_trial_refit_or_any_trial_asked_for(ns, tmp_path):
    run(ns, "from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import make_pipeline\n"
            "from sklearn.preprocessing import StandardScaler")
    result = ns.run_cell_magic("mlestar_tune", "--space {'C': (1e-3, 10.0, 'log-uniform')} --trials 6 --data X y "
                                               "--cv 3 --strategy random --seed 0 --jobs 2 --quiet --name churn",
                               "make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=500))")
    saved = result.save(tmp_path / "best")
    manifest = json.loads((tmp_path / "best" / "manifest.json").read_text())
    best = result.best_trial
    assert manifest["best"] == {"params": best.params, "score": best.value}
    assert manifest["cv"]["scores"] == best.intermediate and len(best.intermediate) == 3
    assert manifest["cv"]["splitter"].startswith("StratifiedKFold(n_splits=3")
    assert manifest["search"]["journal"] == result.journal_path and len(manifest["search"]["journal_sha256"]) == 64
    assert manifest["search"]["strategy"] == "random" and manifest["search"]["seed"] == 0
    assert manifest["search"]["trial"] == best.number and manifest["search"]["trials"] == 6
    assert manifest["data_schema"]["feature_names"] is None and manifest["data_schema"]["n_features"] == 30
    model = mlestar_nb.load(saved.path)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = ns.user_ns["X"], ns.user_ns["y"]
    expected = make_pipeline(StandardScaler(), LogisticRegression(C=best.params["C"], max_iter=500)).fit(X, y)
    assert np.array_equal(model.predict_proba(X), expected.predict_proba(X))
    with pytest.raises(ConfigError, match="expects 30 columns, got 29"):
        model.predict(X[:, :29])

    other = next(t for t in result.completed_trials if t.number != best.number)
    result.save(tmp_path / "other", trial=other.number)
    assert json.loads((tmp_path / "other" / "manifest.json").read_text())["best"]["params"] == other.params
    assert ns.user_ns.get("C") is None   # refitting ran the cell in its own scope


def test_save_refuses_what_it_cannot_do_with_one_line_errors(ns, tmp_path):
    scored = ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 3 --backend sequential --quiet",
                               "-(x - 0.5) ** 2")
    with pytest.raises(ConfigError, match=r"ends with a score, not an estimator.*save\(path, model=fitted"):
        scored.save(tmp_path / "m")
    with pytest.raises(ConfigError, match="unknown format 'onnx'; use one of skops, mlflow, joblib"):
        scored.save(tmp_path / "m", format="onnx")
    with pytest.raises(ConfigError, match="has no trial 99"):
        scored.save(tmp_path / "m", trial=99)
    from sklearn.tree import DecisionTreeClassifier

    with pytest.raises(ConfigError, match="is not fitted; fit it first"):
        scored.save(tmp_path / "m", model=DecisionTreeClassifier())
    fitted = DecisionTreeClassifier().fit(ns.user_ns["X"], ns.user_ns["y"])
    scored.save(tmp_path / "m", model=fitted, data=(ns.user_ns["X"], ns.user_ns["y"]))
    with pytest.raises(ConfigError, match="already exists; pass overwrite=True"):
        scored.save(tmp_path / "m", model=fitted)
    scored.save(tmp_path / "m", model=fitted, overwrite=True)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".m.saving-")]   # no staging folder left behind


def _package(tmp_path, ns, name="pkg"):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = ns.user_ns["X"], ns.user_ns["y"]
    result = mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=2, backend="sequential", journal=False,
                             progress=False)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    saved = result.save(tmp_path / name, model=model, data=(X, y))
    return result, saved, tmp_path / name


def test_a_flipped_byte_an_edited_manifest_or_a_missing_file_is_refused(ns, tmp_path):
    _, saved, package = _package(tmp_path, ns)
    mlestar_nb.load(package, sha256=saved.manifest_sha256)   # intact: loads

    flipped = tmp_path / "flipped"
    shutil.copytree(package, flipped)
    data = bytearray((flipped / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0x01
    (flipped / "model.skops").write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=r"^model.skops was changed after saving \(its sha256 does not match"):
        mlestar_nb.load(flipped)

    edited = tmp_path / "edited"
    shutil.copytree(package, edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["best"]["score"] = 0.999
    (edited / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"^manifest.json was changed after saving"):
        mlestar_nb.load(edited)

    missing = tmp_path / "missing"
    shutil.copytree(package, missing)
    os.remove(missing / "requirements.txt")
    with pytest.raises(ConfigError, match="requirements.txt is missing"):
        mlestar_nb.load(missing)
    with pytest.raises(ConfigError, match="not the package you pinned"):
        mlestar_nb.load(package, sha256="0" * 64)
    with pytest.raises(ConfigError, match="has no manifest.json"):
        mlestar_nb.load(tmp_path)


SHIFT_MODULE = '''
from sklearn.base import BaseEstimator, TransformerMixin


class Shift(TransformerMixin, BaseEstimator):
    """Adds a constant: a transformer from outside scikit-learn."""

    def __init__(self, by=1.0):
        self.by = by

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X + self.by
'''


def test_a_class_from_outside_scikit_learn_is_refused_unless_trusted_by_name(ns, tmp_path, monkeypatch):
    (tmp_path / "shiftlib.py").write_text(SHIFT_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from shiftlib import Shift
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = ns.user_ns["X"], ns.user_ns["y"]
    pipe = make_pipeline(Shift(2.0), StandardScaler(), LogisticRegression()).fit(X, y)
    result, _, plain = _package(tmp_path, ns, "plain")
    saved = result.save(tmp_path / "custom", model=pipe, data=(X, y))
    assert saved.trusted_types == ["shiftlib.Shift"]
    assert any("trusted=['shiftlib.Shift']" in note for note in saved.notes)
    code = """
import sys, numpy as np, mlestar_nb
from sklearn.datasets import load_breast_cancer
X, _ = load_breast_cancer(return_X_y=True)
try:
    mlestar_nb.load(sys.argv[1])
except mlestar_nb.ConfigError as err:
    print("REFUSED", err)
model = mlestar_nb.load(sys.argv[1], trusted=["shiftlib.Shift"])
np.save(sys.argv[2], model.predict_proba(X))
"""
    out = in_fresh_python(code, tmp_path / "custom", tmp_path / "p.npy", env={"PYTHONPATH": f"{ROOT}:{tmp_path}"})
    assert ("REFUSED model.skops holds types from outside scikit-learn: shiftlib.Shift; review them, then "
            "load(path, trusted=['shiftlib.Shift'])") in out
    assert np.array_equal(np.load(tmp_path / "p.npy"), pipe.predict_proba(X))

    # a model swapped in by someone who recomputed the file hashes, not knowing the manifest lists the types
    shutil.copy(tmp_path / "custom" / "model.skops", plain / "model.skops")
    manifest = json.loads((plain / "manifest.json").read_text())
    manifest["files"]["model.skops"] = __import__("hashlib").sha256((plain / "model.skops").read_bytes()).hexdigest()
    write_manifest(plain, manifest)
    with pytest.raises(ConfigError, match="holds types the manifest does not list: shiftlib.Shift"):
        mlestar_nb.load(plain, trusted=["shiftlib.Shift"])


def test_other_versions_are_warned_about_and_a_pickle_needs_consent(ns, tmp_path):
    _, _, package = _package(tmp_path, ns)
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["versions"]["scikit-learn"] = "0.24.2"
    write_manifest(package, manifest)
    with pytest.warns(VersionWarning, match=r"scikit-learn 0.24.2 -> \d"):
        mlestar_nb.load(package)

    from sklearn.tree import DecisionTreeClassifier

    X, y = ns.user_ns["X"], ns.user_ns["y"]
    result = mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=2, backend="sequential", journal=False,
                             progress=False)
    with pytest.warns(PickleWarning, match="runs arbitrary code when it is loaded"):
        result.save(tmp_path / "pickled", model=DecisionTreeClassifier(random_state=0).fit(X, y), format="joblib")
    assert "model.joblib" in os.listdir(tmp_path / "pickled") and "model.skops" not in os.listdir(tmp_path / "pickled")
    with pytest.raises(ConfigError, match=r"is a pickle \(format='joblib'\).*allow_pickle=True"):
        mlestar_nb.load(tmp_path / "pickled")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = mlestar_nb.load(tmp_path / "pickled", allow_pickle=True)
    assert model.predict(X).tolist() == DecisionTreeClassifier(random_state=0).fit(X, y).predict(X).tolist()


def test_format_mlflow_without_mlflow_is_a_one_line_error(ns, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)   # what `import` finds when the package is missing
    result, _, _ = _package(tmp_path, ns)
    with pytest.raises(ConfigError) as info:
        result.save(tmp_path / "m", format="mlflow")
    assert str(info.value) == "format='mlflow' needs mlflow: pip install mlflow"
    assert not (tmp_path / "m").exists()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(400)
def test_the_mlflow_package_loads_with_pyfunc_and_serves_the_same_predictions(ns, tmp_path):
    pytest.importorskip("mlflow", reason="mlflow is not installed (pip install mlflow)")
    run(ns, MIXED_DATA + "pipe.fit(frame, churn)\n")
    frame, pipe = ns.user_ns["frame"], ns.user_ns["pipe"]
    result, _, _ = _package(tmp_path, ns)
    saved = result.save(tmp_path / "mlflow-model", model=pipe, data=(frame, ns.user_ns["churn"]), format="mlflow")
    package = tmp_path / "mlflow-model"
    assert {"MLmodel", "model.skops", "requirements.txt", "input_example.json", "manifest.json",
            "report.html"} <= set(os.listdir(package))
    assert "serialization_format: skops" in (package / "MLmodel").read_text()
    assert "mlestar-nb" not in (package / "requirements.txt").read_text()
    mlestar_nb.load(package, sha256=saved.manifest_sha256)   # our loader takes it too

    frame.to_pickle(tmp_path / "rows.pkl")
    env = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true", "MLFLOW_TRACKING_URI": f"file://{tmp_path}/mlruns"}
    in_fresh_python("import sys, numpy as np, pandas as pd, mlflow.pyfunc\n"
                    "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
                    "np.save(sys.argv[3], np.asarray(model.predict(pd.read_pickle(sys.argv[2]))))",
                    package, tmp_path / "rows.pkl", tmp_path / "pyfunc.npy", env=env)
    assert np.array_equal(np.load(tmp_path / "pyfunc.npy"), pipe.predict(frame))

    port = _free_port()
    mlflow_cli = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = subprocess.Popen([mlflow_cli, "models", "serve", "-m", str(package), "--env-manager", "local",
                               "-h", "127.0.0.1", "-p", str(port), "-w", "1"], env={**os.environ, **env},
                              stdout=open(tmp_path / "serve.log", "w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/ping", server, tmp_path / "serve.log", "mlflow models serve",
                             120)
        rows = json.loads(frame.iloc[:20].to_json(orient="split", double_precision=15))
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", method="POST",
                                         data=json.dumps({"dataframe_split": {"columns": rows["columns"],
                                                                              "data": rows["data"]}}).encode(),
                                         headers={"Content-Type": "application/json"})
        served = json.loads(urllib.request.urlopen(request, timeout=30).read())["predictions"]
        assert served == pipe.predict(frame.iloc[:20]).tolist()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_an_ablation_has_no_model_of_its_own_but_saves_one_given(ns, tmp_path):
    run(ns, "pipe = make_pipeline(StandardScaler(), LogisticRegression())")
    study = ns.run_line_magic("ablate", "pipe --data X y --cv 3 --repeats 1 --jobs 2 --quiet")
    with pytest.raises(ConfigError, match="holds no model to save; pass the fitted model"):
        study.save(tmp_path / "m")
    fitted = ns.user_ns["pipe"].fit(ns.user_ns["X"], ns.user_ns["y"])
    saved = study.save(tmp_path / "m", model=fitted)   # the study's own data gives the schema and fingerprint
    assert saved.format == "skops" and "id='ranking'" in (tmp_path / "m" / "report.html").read_text()
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["data_fingerprint"]["rows"] == 569 and manifest["latency"]["1_row"]["calls"] >= 5
