"""Cost of the live panel: the same 100-trial search in a real kernel, with the panel and with --quiet.

Runs in a Jupyter kernel (jupyter_client), so widget messages really go out.
Prints JSON: the median wall time of each and their ratio (target: panel < 1.05 x quiet).
"""
import json
import os
import platform
import statistics
import time

from jupyter_client.manager import start_new_kernel

SETUP = """
%load_ext mlestar_nb
import numpy as np
def work(n=1500):
    a = np.random.RandomState(0).rand(100, 100)
    for _ in range(n):
        a = np.tanh(a @ a / 100.0)
    return float(a.sum())
"""
CELL = """%%mlestar_tune --space {{'x': (0.0, 1.0)}} --trials 100 --jobs 2 --strategy random --seed {seed} {view} --out res
work()
-(x - 0.3) ** 2"""


def run(client, view, seed):
    out = []
    client.execute_interactive(CELL.format(seed=seed, view=view), timeout=600, output_hook=lambda m: None)
    client.execute_interactive("print(res.metrics['wall_s'], res.metrics['view_s'])", timeout=60,
                               output_hook=lambda m: out.append(m["content"].get("text", "")))
    wall, view = map(float, "".join(out).split())
    return wall, view


def main(repeats=3):
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        client.execute_interactive(SETUP, timeout=120, output_hook=lambda m: None)
        run(client, "--quiet", 99)  # warm the pool
        panel, quiet = [], []
        for seed in range(repeats):
            quiet.append(run(client, "--quiet", seed))
            panel.append(run(client, "--view widget", seed))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    quiet_wall = statistics.median(w for w, _ in quiet)
    panel_wall = statistics.median(w for w, _ in panel)
    result = {"figure": "panel_overhead", "trials": 100, "workers": 2, "repeats": repeats,
              "quiet_wall_s_median": round(quiet_wall, 3), "panel_wall_s_median": round(panel_wall, 3),
              "ratio": round(panel_wall / quiet_wall, 3),
              "panel_drawing_share_median": round(statistics.median(v / w for w, v in panel), 4),
              "machine": f"{platform.machine()} {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
