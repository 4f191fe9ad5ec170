"""%mlestar_runs and %mlestar_stop: the background runs of this kernel, listed and stopped."""
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..runs.background import find, runs
from .common import parse_line, usage_errors


class RunList(list):
    """The runs, shown as one line each (text) or a table (HTML)."""

    def __repr__(self):
        if not self:
            return "no background runs in this kernel (start one with --background)"
        return "\n".join(run.summary() for run in self)

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    def _repr_html_(self):
        import html

        if not self:
            return f"<i>{html.escape(repr(self))}</i>"
        rows = "".join(f"<tr><td>{html.escape(r.name)}</td><td>{r.kind}</td><td><b>{html.escape(r.status)}</b></td>"
                       f"<td>{html.escape(r.progress)}</td></tr>" for r in self)
        return ("<table class='mlestar-runs'><thead><tr><th>run</th><th>kind</th><th>status</th><th>progress</th>"
                f"</tr></thead><tbody>{rows}</tbody></table>")


@magics_class
class RunsMagics(Magics):
    @magic_arguments()
    @line_magic
    def mlestar_runs(self, line):
        """List the background runs of this kernel (started with --background): name, kind, status, progress.

        Returns the list of run handles.
        """
        with usage_errors():
            parse_line(self.mlestar_runs, line)
            return RunList(runs())

    @magic_arguments()
    @argument("name", nargs="?", help="the run to stop (default: every background run)")
    @argument("--cancel", action="store_true", help="stop the running trials now instead of letting them finish")
    @argument("--grace", type=float, metavar="S", help="let running trials finish for at most S seconds")
    @line_magic
    def mlestar_stop(self, line):
        """Stop a background run (or all of them): no new trial starts, running ones finish.

        --cancel stops the running trials now; --grace S cancels them after S seconds. Every finished trial is
        kept (and journaled); run.result() returns the partial result. The kernel's Interrupt does not stop a
        background run: this does.
        """
        with usage_errors():
            args = parse_line(self.mlestar_stop, line)
            stopped = RunList(run for run in find(args.name) if run.alive)
            for run in stopped:
                run.cancel() if args.cancel else run.stop(args.grace)
            return stopped
