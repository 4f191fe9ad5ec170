"""The IPython magics, one module each; `MAGICS` is what the extension registers."""
from .ablate import AblateMagics
from .tune import TuneMagics

MAGICS = (TuneMagics, AblateMagics)
