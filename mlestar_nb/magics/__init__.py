"""The IPython magics, one module each; `MAGICS` is what the extension registers."""
from .monitor import MonitorMagics
from .tune import TuneMagics

MAGICS = (TuneMagics, MonitorMagics)
