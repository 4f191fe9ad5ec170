"""%mlestar_report RESULT PATH: a result's self-contained HTML report, from a magic."""
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import ConfigError
from .common import parse_line, resolve_names, usage_errors


@magics_class
class ReportMagics(Magics):
    @magic_arguments()
    @argument("result", metavar="RESULT", help="the variable holding a result (of %%%%mlestar_tune, %%ablate, "
              "%%mlestar_refine, or the library's tune/ablate/refine)")
    @argument("path", nargs="?", metavar="PATH", help="the HTML file to write (default: reports/NAME-TIME.html)")
    @line_magic
    def mlestar_report(self, line):
        """Write a run's report as one self-contained HTML file that opens offline in any browser.

        The same as ``RESULT.report(PATH)``: run card, history with the best so
        far, parallel coordinates, score by parameter, parameter importance,
        top trials, failures, CPU and memory over time with the alerts (an
        ablation: its ranking with 95 % intervals; a refinement: its rounds).
        Returns the path it wrote.

        Example::

            %mlestar_report result runs/churn-search.html
        """
        with usage_errors():
            args = parse_line(self.mlestar_report, line)
            return self._report(args)

    def _report(self, args):
        if not args.result.isidentifier():
            raise ConfigError(f"{args.result!r} is not a variable name; name the variable holding the result, "
                              "e.g. %mlestar_report result runs/search.html")
        result = resolve_names(self.shell.user_ns, [args.result], "RESULT", "result runs/search.html")[0]
        if not callable(getattr(result, "report", None)):
            raise ConfigError(f"'{args.result}' is a {type(result).__name__}, not a result of mlestar-nb; name the "
                              "variable a search, ablation or refinement was stored in (--out VAR)")
        return result.report(args.path)
