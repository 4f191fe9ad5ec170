"""A search that runs until killed: used by the tests of kernel death and of a busy journal."""
import sys
import time

import mlestar_nb


def objective(params):
    time.sleep(0.15)
    return -(params["x"] - 0.3) ** 2


if __name__ == "__main__":
    journal_dir, name, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, trials=trials, jobs=2, strategy="random", seed=0, name=name,
                    journal_dir=journal_dir, progress=False)
