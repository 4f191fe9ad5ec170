"""The IPython magics, one module each; `MAGICS` is what the extension registers."""
from .ablate import AblateMagics
from .monitor import MonitorMagics
from .refine import RefineMagics
from .report import ReportMagics
from .runs import RunsMagics
from .tune import TuneMagics

MAGICS = (TuneMagics, AblateMagics, RefineMagics, MonitorMagics, ReportMagics, RunsMagics)
