"""The page every report shares: one HTML file with its style inline, a section per topic, the run card,
the resource timeline with the alerts, the model package (when the report goes into one) and the notes.

Nothing here refers to anything outside the file: no stylesheet, script, font
or image URL (tests/test_report_browser.py watches the browser's requests).
"""
import datetime
import html

from .. import format as fmt
from ..results import table_html
from . import svg

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fff}
header{background:#263238;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header .sub{color:#b0bec5;font-size:13px}
nav{padding:6px 24px;border-bottom:1px solid #ddd;font-size:13px}nav a{margin-right:12px;color:#1565c0}
main{padding:6px 24px 40px;max-width:1200px}
section{margin:18px 0;padding-bottom:8px;border-bottom:1px solid #eee}section h2{font-size:17px;margin:6px 0}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border-bottom:1px solid #e3e3e3;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f5f5f5}
.card td:first-child{color:#555;white-space:nowrap}
svg text.tick{font-size:10px;fill:#555}svg text.label{font-size:11px;fill:#333}svg{margin:4px 8px 4px 0}
.charts{display:flex;flex-wrap:wrap}.muted{color:#666}.alert{color:#b26a00}.error{color:#c62828;font-family:monospace}
code{background:#f3f3f3;padding:0 3px}.hidden-note{color:#666;font-style:italic}
"""


def section(anchor, title, body):
    return f"<section id='{anchor}'><h2>{html.escape(title)}</h2>{body}</section>"


def page(title, subtitle, sections):
    """The whole document; `sections` are (anchor, title, body HTML) in order."""
    nav = "".join(f"<a href='#{anchor}'>{html.escape(name)}</a>" for anchor, name, _ in sections)
    body = "".join(section(*s) for s in sections)
    generated = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<header><h1>{html.escape(title)}</h1><div class='sub'>{html.escape(subtitle)} &middot; report "
            f"written {generated} by mlestar-nb</div></header><nav>{nav}</nav><main>{body}</main></body></html>")


# -- the run card ------------------------------------------------------------------------------------
def run_card(rows):
    """`rows`: (label, text) pairs; None values are left out. Text is escaped here."""
    cells = [[html.escape(label), html.escape(str(value))] for label, value in rows if value not in (None, "")]
    return table_html(["", ""], cells, css_class="card").replace("<thead><tr><th></th><th></th></tr></thead>", "")


def when(started_at, wall_s):
    if not started_at:
        return None
    start = datetime.datetime.fromtimestamp(started_at).astimezone()
    text = start.isoformat(timespec="seconds")
    if wall_s:
        end = datetime.datetime.fromtimestamp(started_at + wall_s).astimezone()
        text += f" to {end.strftime('%H:%M:%S')}"
    return text


def where(metrics):
    host = metrics.get("host")
    workers = metrics.get("workers")
    backend = metrics.get("backend")
    parts = [p for p in (host and f"host {host}", workers and f"{workers} {backend or ''} workers".replace("  ", " "))
             if p]
    return ", ".join(parts) or None


def data_line(X, y):
    """Rows x columns and the data's fingerprint (the one save() records)."""
    if X is None:
        return None
    from ..production.manifest import fingerprint

    shape = getattr(X, "shape", None)
    columns = f" x {shape[1]} columns" if shape is not None and len(shape) > 1 else ""
    print_ = fingerprint(X, y)
    return f"{len(X)} rows{columns}, sha256 {print_['sha256'][:16]}"


# -- resources and alerts -------------------------------------------------------------------------------
MAX_POINTS = 600


def resources_section(samples, alerts):
    """CPU and memory over time, with alert times marked, and the alerts listed with what to do."""
    parts = []
    if samples:
        samples = samples[:: max(1, len(samples) // MAX_POINTS)]
        start = samples[0][0]
        xs = [s[0] - start for s in samples]
        left, right, bottom, top = svg.plot_area()
        x = svg.Axis(0.0, max(xs) or 1.0, left, right)
        y = svg.Axis(0.0, 100.0, bottom, top)
        body = (svg.polyline(xs, [s[1] for s in samples], x, y, svg.PALETTE["cpu"])
                + svg.polyline(xs, [100 * s[2] for s in samples], x, y, svg.PALETTE["memory"]))
        for alert in alerts:
            at = _alert_time(alert) - start
            if 0 <= at <= x.high:
                body += (f"<line x1='{svg.num(x(at))}' x2='{svg.num(x(at))}' y1='{top}' y2='{bottom}' "
                         f"stroke='{svg.PALETTE['alert']}' stroke-dasharray='3 2'><title>"
                         f"{svg.esc(_alert_kind(alert))}</title></line>")
        body += svg.legend([("CPU % (all cores)", svg.PALETTE["cpu"]), ("memory used %", svg.PALETTE["memory"]),
                            ("alert", svg.PALETTE["alert"])])
        parts.append(svg.frame(x, y, body, x_label="seconds since start", y_label="%",
                               title="CPU and memory over time"))
        rss = max(s[3] for s in samples)
        parts.append(f"<div class='muted'>{len(samples)} samples; peak RSS of the kernel and its workers "
                     f"{rss / 2 ** 20:.0f} MB</div>")
    else:
        parts.append("<div class='hidden-note'>no resource samples were recorded for this run</div>")
    if alerts:
        rows = [[html.escape(_alert_kind(a)), html.escape(_alert_message(a))] for a in alerts]
        parts.append(table_html(["alert", "what happened and what to do"], rows))
    else:
        parts.append("<div class='muted'>no alerts</div>")
    return "".join(parts)


def _alert_time(alert):
    return alert["time"] if isinstance(alert, dict) else alert.time


def _alert_kind(alert):
    return alert["kind"] if isinstance(alert, dict) else alert.kind


def _alert_message(alert):
    return alert["message"] if isinstance(alert, dict) else alert.message


def notes_section(notes, warnings=()):
    items = [f"<li class='alert'>warning: {html.escape(w)}</li>" for w in warnings]
    items += [f"<li>{html.escape(n)}</li>" for n in notes]
    return f"<ul>{''.join(items)}</ul>" if items else "<div class='muted'>none</div>"


# -- the model package (a report inside a saved model) ------------------------------------------------------
def package_section(manifest):
    latency = manifest.get("latency") or {}
    rows = [("model", manifest.get("model_class")), ("what", manifest.get("origin")),
            ("format", manifest.get("format")), ("model size", f"{manifest.get('model_size_bytes', 0) / 1024:.0f} KB")]
    for key, label in (("1_row", "latency, 1 row"), ("1000_rows", "latency, 1,000 rows")):
        if key in latency:
            rows.append((label, f"median {latency[key]['median_ms']:.3g} ms, 95th percentile "
                                f"{latency[key]['p95_ms']:.3g} ms ({latency[key]['calls']} calls)"))
    cv = manifest.get("cv") or {}
    if cv.get("scores"):
        rows.append(("CV scores", f"{', '.join(fmt.score(s, 4) for s in cv['scores'])} ({cv.get('scoring')}, "
                                  f"{cv.get('splitter')})"))
    schema = manifest.get("data_schema") or {}
    names = schema.get("feature_names")
    rows.append(("input", f"{schema.get('n_features')} features" + (f": {', '.join(names[:20])}" if names else "")))
    if schema.get("classes") is not None:
        rows.append(("classes", ", ".join(map(str, schema["classes"]))))
    rows.append(("types to trust", ", ".join(manifest.get("trusted_types") or []) or "none"))
    rows.append(("requirements", ", ".join(manifest.get("requirements") or [])))
    return run_card(rows)
