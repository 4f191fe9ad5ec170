"""%mlestar_monitor: the resource meters alone, live in their cell while you work in others."""
import html
import time

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import ConfigError
from .common import parse_line, usage_errors

_active = {"monitor": None}


@magics_class
class MonitorMagics(Magics):
    @magic_arguments()
    @argument("--interval", type=float, default=1.0, metavar="S", help="seconds between samples (1)")
    @argument("--stop", action="store_true", help="stop the running monitor")
    @argument("--view", default="auto", choices=("auto", "widget", "text"),
              help="auto: live meters in a notebook, one line of figures in a terminal")
    @line_magic
    def mlestar_monitor(self, line):
        """Show CPU per core, memory and the RSS of the kernel and its workers, updated live.

        The meters keep updating in this cell on a background thread while other
        cells run; `%mlestar_monitor --stop` stops them (so does starting a new one).
        """
        with usage_errors():
            args = parse_line(self.mlestar_monitor, line)
            return self._monitor(args)

    def _monitor(self, args):
        from ..live.monitor import BackgroundMonitor, ResourceMonitor
        from ..kernel import in_notebook_kernel
        from ..live.views import resources_line

        stop_running()
        if args.stop:
            return None
        if not args.interval > 0:
            raise ConfigError(f"--interval must be a positive number of seconds, got {args.interval}")
        if args.view == "text" or (args.view == "auto" and not in_notebook_kernel()):
            print(resources_line(ResourceMonitor().sample(force=True)))
            return None
        import ipywidgets as widgets
        from IPython.display import display

        from ..live.views import meters_html

        meters = widgets.HTML(meters_html(ResourceMonitor().sample(force=True)))
        meters.add_class("mlestar-monitor")

        def update(sample):
            meters.value = meters_html(sample) + f"<span style='color:#888'> updated {time.strftime('%H:%M:%S')}" \
                f"{'' if not sample else ''}</span><span hidden>{html.escape(str(sample['time']))}</span>"

        _active["monitor"] = BackgroundMonitor(update, interval=args.interval).start()
        display(meters)
        return None


def stop_running():
    monitor, _active["monitor"] = _active["monitor"], None
    if monitor is not None:
        monitor.stop()
