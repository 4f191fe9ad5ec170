"""The IPython magics, one module each; `MAGICS` is what the extension registers."""
from .ablate import AblateMagics
from .monitor import MonitorMagics
from .tune import TuneMagics

MAGICS = (TuneMagics, AblateMagics, MonitorMagics)
