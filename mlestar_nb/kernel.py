"""Where the code runs: a notebook kernel (widgets can be drawn, output has a cell) or not."""


def in_notebook_kernel():
    """True inside a Jupyter kernel (ipykernel), False in terminal IPython or plain Python."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
