"""The IPython magics, one module each; `MAGICS` is what the extension registers."""
from .ablate import AblateMagics
from .monitor import MonitorMagics
from .refine import RefineMagics
from .report import ReportMagics
from .tune import TuneMagics

MAGICS = (TuneMagics, AblateMagics, RefineMagics, MonitorMagics, ReportMagics)
