"""The IPython magics, one module each; `MAGICS` is what the extension registers."""
from .tune import TuneMagics

MAGICS = (TuneMagics,)
