"""What trials print is kept on the trial, bounded, and shown only when asked (issue: hardening, finding 8)."""
import pytest

from mlestar_nb.executors.local import LokyExecutor

NOISY = """
_ = [print(f"epoch {i} loss {1 / (i + 1):.4f}") for i in range(5000)]
import sys
print("last words", file=sys.stderr)
x
"""


@pytest.mark.parametrize("backend", ["loky", "threads", "sequential"])
def test_a_trial_that_prints_5000_lines_does_not_flood_the_cell(ns, capfd, backend):
    LokyExecutor.close_warm_pools()   # workers started inside capfd write to its capture, as a kernel's would
    result = ns.run_cell_magic("mlestar_tune", f"--space {{'x': (0.0, 1.0)}} --trials 3 --jobs 2 "
                                               f"--backend {backend} --view text --seed 0", NOISY)
    out, err = capfd.readouterr()
    assert "epoch" not in out + err and len((out + err).splitlines()) < 20
    lines = result.trials[0].output.splitlines()
    assert lines[0] == "... (4981 earlier line(s) not kept)"
    assert lines[-2] == "epoch 4999 loss 0.0002" and lines[-1] == "last words" and len(lines) == 21
    assert "3 trial(s) printed output, kept on trial.output" in repr(result)


def test_show_output_prints_the_last_lines_of_each_trial_and_quiet_refuses_it(ns, capsys):
    from IPython.core.error import UsageError

    ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 2 --backend sequential --view text "
                                      "--show-output", NOISY)
    out = capsys.readouterr().out
    assert out.count("[trial 0] epoch") == 19 and "[trial 1] last words" in out
    assert "epoch 4980 " not in out   # only the last lines, never the flood
    with pytest.raises(UsageError, match="show_output shows what trials print under the progress view"):
        ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 2 --quiet --show-output", "x")


def test_the_notebooks_own_output_is_not_captured_by_trials_on_threads(ns, capsys):
    """On the threads backend a trial's capture must not swallow what the kernel's thread prints meanwhile."""
    import threading
    import time

    seen = []

    def kernel_prints():
        for _ in range(5):
            print("from the kernel")
            time.sleep(0.05)
        seen.append(True)

    printer = threading.Thread(target=kernel_prints)
    printer.start()
    ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 4 --jobs 2 --backend threads --quiet",
                      "import time\nprint('from a trial')\ntime.sleep(0.1)\nx")
    printer.join()
    out = capsys.readouterr().out
    assert out.count("from the kernel") == 5 and "from a trial" not in out


WARNS = """
import time, warnings
warnings.warn(f"trial at x={x:.6f}")
time.sleep(0.02 + x / 20)
warnings.warn(f"trial at x={x:.6f}")   # the same line twice: still kept
x
"""


def test_each_threaded_trial_keeps_its_own_warnings_and_the_kernel_keeps_its_warning_settings(ns, recwarn):
    """catch_warnings on several threads at once used to leave the kernel's warnings going to a dead list."""
    import warnings

    filters, show = list(warnings.filters), warnings.showwarning
    result = ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 12 --jobs 6 --backend threads "
                                               "--strategy random --quiet --seed 0", WARNS)
    for trial in result.trials:
        assert trial.warnings == [f"UserWarning: trial at x={trial.params['x']:.6f}"]
    assert warnings.filters == filters and warnings.showwarning is show
    assert not [w for w in recwarn if "trial at" in str(w.message)]   # none reached the notebook
    warnings.warn("the user's own warning after the run")
    assert [str(w.message) for w in recwarn][-1] == "the user's own warning after the run"


def test_model_fits_on_the_proposer_threads_show_no_warnings(ns, recwarn):
    import warnings

    warnings.simplefilter("always")
    ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0), 'y': (-1.0, 1.0), 'k': (1, 3)} --trials 30 "
                                      "--jobs 4 --backend threads --strategy bayes --quiet --seed 1",
                      "import time\ntime.sleep(0.01)\n(x - 0.3) ** 2 + y ** 2 + k")
    assert [f"{w.category.__name__}: {w.message}" for w in recwarn] == []


def test_quiet_drops_only_the_named_packages_warnings_and_shows_the_rest(recwarn):
    """What MLflow's save uses in place of catch_warnings (process-wide state, unsafe beside a threaded search)."""
    import os
    import warnings

    from mlestar_nb import routed_warnings

    inside = os.path.join(os.sep, "site-packages", "mlflow", "models", "utils.py")
    with routed_warnings.quiet(UserWarning, package="mlflow"):
        warnings.warn_explicit("an integer column hint", UserWarning, inside, 1)
        warnings.warn_explicit("a deprecation from mlflow", DeprecationWarning, inside, 2)
        warnings.warn("the user's own warning")
    warnings.warn_explicit("after the block", UserWarning, inside, 3)
    assert [str(w.message) for w in recwarn] == ["a deprecation from mlflow", "the user's own warning",
                                                 "after the block"]
