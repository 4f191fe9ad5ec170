"""Ways to show a running search. Each view is a listener: ``view(event, snapshot, trial)``.

Views render the engine's plain snapshot and never touch the engine.
"""
import sys
import time


class TextProgress:
    """One status line, redrawn at most a few times a second, then a final line."""

    def __init__(self, stream=None, min_interval=0.25):
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, event, snap, trial=None):
        now = time.monotonic()
        if event == "trial" and now - self._last < self.min_interval:
            return
        self._last = now
        best = snap["best"]
        best_text = f"best {best['value']:.5g}" if best else "no score yet"
        line = (f"{snap['finished']}/{snap['budget']} trials, {snap['running']} running, "
                f"{snap['failed']} failed, {snap['pruned']} pruned, {best_text}, {snap['elapsed_s']:.1f} s")
        end = "\n" if event == "end" else ""
        if event == "end":
            line += f" - {snap['status']}" + (f" ({snap['stop_reason']})" if snap["stop_reason"] not in
                                               (None, "budget") else "")
        self.stream.write("\r" + line + end)
        self.stream.flush()


def default_progress():
    return TextProgress()
