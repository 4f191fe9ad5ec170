"""Strategies that cannot keep the workers fed, by construction: for the alerts and the proposer's hand-over."""
import time

from mlestar_nb.search.strategies import RandomSearch


class SlowRandomSearch(RandomSearch):
    """Random draws that take `delay` seconds each; costly, so the engine computes them ahead as it would a model's."""
    is_costly = True

    def __init__(self, dims, seed=None, delay=0.1):
        super().__init__(dims, seed)
        self.delay = delay

    def ask(self, pending=()):
        time.sleep(self.delay)
        return super().ask(pending)
