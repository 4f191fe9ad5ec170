"""MLflow's model format, written by MLflow's own `mlflow.sklearn.save_model` with its skops serialization.

The package directory is then an MLflow model as it is (MLmodel, model.skops,
conda.yaml, python_env.yaml, requirements.txt, input_example.json), so
`mlflow.pyfunc.load_model(path)` and `mlflow models serve -m path` take it;
mlestar-nb adds its manifest and report beside them. MLflow reads the types
to trust from MLmodel's ``skops_trusted_types``, which we set to what skops
reported at save; MLflow itself loads a skops model only when
``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`` (docs/production.md).
"""


def write_mlflow(estimator, directory, trusted, X, requirements):
    """Write the MLflow model into the (empty) `directory`; the signature is inferred from X's first rows.

    mlestar-nb is left out of its requirements: MLflow loads and serves the model without it.
    """
    import mlflow.sklearn

    from .. import routed_warnings

    example = None
    if X is not None:
        import numpy as np

        example = X.iloc[:5] if hasattr(X, "iloc") else np.asarray(X)[:5]
    # MLflow's hints about integer columns in the example (the schema says it); routed, not catch_warnings: that
    # swaps process-wide state under a search running on threads
    with routed_warnings.quiet(UserWarning, package="mlflow"):
        mlflow.sklearn.save_model(
            estimator, directory, serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=list(trusted) or None, input_example=example,
            pip_requirements=[r for r in requirements if not r.startswith("mlestar-nb==")])
