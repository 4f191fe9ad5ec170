"""A text view of a running ablation: one status line, redrawn a few times a second.

A listener like the search's views: ``view(event, snapshot, unit)``; it only
reads the plain snapshot, so a richer panel can replace it.
"""
import sys
import time


class TextProgress:
    def __init__(self, stream=None, min_interval=0.25):
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, event, snap, unit=None):
        now = time.monotonic()
        if event == "fit" and now - self._last < self.min_interval:
            return
        self._last = now
        ranking = snap["ranking"]
        top = f", top: {ranking[0]['component']} ({ranking[0]['delta']:+.4g})" if ranking else ""
        line = (f"{snap['done']}/{snap['total']} fits, {snap['running']} running, {snap['failed']} failed, "
                f"{snap['variants_done']}/{snap['variants_total']} components ranked{top}, "
                f"{snap['elapsed_s']:.1f} s")
        if event == "end":
            line += f" - {snap['status']}\n"
        self.stream.write("\r" + line)
        self.stream.flush()
