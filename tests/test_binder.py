"""binder/ alone is enough: a fresh virtual environment built from it runs every tutorial (issue: tutorials)."""
import os
import pathlib
import subprocess
import venv

import pytest

ROOT = pathlib.Path(__file__).parent.parent


@pytest.mark.timeout(1200)
def test_a_fresh_venv_from_binder_runs_every_notebook(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    env["JUPYTER_PATH"] = str(env_dir / "share" / "jupyter")

    def run(*args, cwd=ROOT):
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    run(python, "-m", "pip", "install", "-q", "-r", str(ROOT / "binder" / "requirements.txt"), "nbclient")
    run(python, "-m", "pip", "check")
    run("bash", str(ROOT / "binder" / "postBuild"), cwd=ROOT)  # uses `python` on PATH: the venv's, below
    location = run(python, "-c", "import mlestar_nb, os; print(os.path.dirname(mlestar_nb.__file__))", cwd=tmp_path)
    assert location.strip().startswith(str(env_dir)), "postBuild did not install mlestar_nb into the environment"
    run(python, "-m", "ipykernel", "install", "--prefix", str(env_dir), "--name", "python3")
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        run(python, "-c", "import sys, nbformat; from nbclient import NotebookClient; "
                          "nb = nbformat.read(sys.argv[1], as_version=4); "
                          "NotebookClient(nb, timeout=300, kernel_name='python3', "
                          "resources={'metadata': {'path': sys.argv[2]}}).execute()",
            str(notebook), str(tmp_path), cwd=tmp_path)
