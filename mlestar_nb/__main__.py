"""`python -m mlestar_nb [NOTEBOOK]`: run a tutorial headlessly and print what it found.

With no argument it runs the quickstart (notebooks/01_quickstart.ipynb of the
source tree): a real search on a dataset that ships with scikit-learn.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QUICKSTART = os.path.join(os.path.dirname(HERE), "notebooks", "01_quickstart.ipynb")


def run_notebook(path, timeout=600):
    """Execute a notebook in a fresh kernel, in the notebook's folder; return it with outputs."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        raise SystemExit('running notebooks needs nbclient: pip install "mlestar-nb[notebooks]"') from None
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    return notebook


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mlestar_nb", description=__doc__)
    parser.add_argument("notebook", nargs="?", default=QUICKSTART, help="notebook to run (default: the quickstart)")
    args = parser.parse_args(argv)
    if not os.path.exists(args.notebook):
        raise SystemExit(f"no notebook at {args.notebook}; pass the path to notebooks/01_quickstart.ipynb")
    clock = time.perf_counter()
    notebook = run_notebook(args.notebook)
    last = notebook.cells[-1]
    for output in last.get("outputs", []):
        if output.get("output_type") == "stream":
            sys.stdout.write(output["text"])
    print(f"ran {os.path.basename(args.notebook)} in {time.perf_counter() - clock:.0f} s")


if __name__ == "__main__":
    main()
