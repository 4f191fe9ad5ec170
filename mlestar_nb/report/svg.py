"""Small hand-written SVG charts: inline in the page, no script, no font or image to fetch.

A chart is a plot area with axes (`Axis`: linear or log, with round ticks)
and marks drawn by the callers (points, lines, bars). Numbers are rounded to
0.1 px so a 1,000-trial report stays small. Inline SVG in HTML5 needs no
namespace attribute, so the page holds no URL of any kind.
"""
import html
import math

WIDTH, HEIGHT = 560, 260
MARGIN = (46, 14, 16, 34)           # left, right, top, bottom
PALETTE = {"complete": "#1f77b4", "pruned": "#9e9e9e", "best": "#ff7f0e", "cpu": "#1976d2", "memory": "#7b1fa2",
           "alert": "#c62828", "accepted": "#2e7d32", "rejected": "#9e9e9e", "failed": "#c62828"}


def num(value):
    """A coordinate with one decimal, without a trailing .0."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def esc(text):
    return html.escape(str(text), quote=True)


class Axis:
    """Maps data values to pixels between `start` and `end` (end < start for a y axis); `log` for log scales."""

    def __init__(self, low, high, start, end, log=False):
        self.log = log and low > 0 and high > 0
        low, high = (math.log10(low), math.log10(high)) if self.log else (low, high)
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = 0.0, 1.0
        if high == low:
            pad = abs(high) * 0.05 or 0.5
            low, high = low - pad, high + pad
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value):
        value = math.log10(value) if self.log and value > 0 else value
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def labels(self, count=4):
        """(tick text, pixel) pairs."""
        ticks = self.ticks(count)
        return list(zip(tick_labels(ticks), map(self, ticks)))

    def ticks(self, count=5):
        if self.log and self.high - self.low >= 1:
            first, last = math.ceil(self.low - 1e-9), math.floor(self.high + 1e-9)
            step = max(1, (last - first) // count + 1)
            return [10.0 ** e for e in range(first, last + 1, step)]
        values = nice_ticks(self.low, self.high, count)
        return [10.0 ** v for v in values] if self.log else values


def nice_ticks(low, high, count=5):
    span = high - low
    step = 10 ** math.floor(math.log10(span / count))
    for factor in (1, 2, 2.5, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(low / step - 1e-9) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def tick_label(value, digits=4):
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.{digits - 3}e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:.{digits}g}"


def tick_labels(values):
    """Labels for ticks, with as many digits as it takes to tell neighbours apart (0.95973, 0.95974)."""
    for digits in range(3, 12):
        labels = [tick_label(v, digits) for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def extent(values, pad=0.05):
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    margin = (high - low) * pad
    return low - margin, high + margin


def frame(x, y, body, *, width=WIDTH, height=HEIGHT, x_label="", y_label="", title="", css_class="chart",
          x_ticks=None, x_labels=None, y_ticks=True):
    """An SVG with the plot area's axes, ticks, labels and the caller's marks (`body`, SVG text); `x_labels`
    name the `x_ticks` (categories) instead of their values."""
    left, right, top, bottom = MARGIN
    parts = [f"<svg class='{css_class}' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
             f"role='img'><title>{esc(title)}</title>",
             f"<rect x='{left}' y='{top}' width='{width - left - right}' height='{height - top - bottom}' "
             "fill='#fafafa' stroke='#ccc'/>"]
    x_ticks = x.ticks() if x_ticks is None else list(x_ticks)
    for value, label in zip(x_ticks, x_labels or tick_labels(x_ticks)):
        px = x(value)
        parts.append(f"<line x1='{num(px)}' x2='{num(px)}' y1='{height - bottom}' y2='{height - bottom + 4}' "
                     f"stroke='#666'/><text x='{num(px)}' y='{height - bottom + 15}' class='tick' "
                     f"text-anchor='middle'>{esc(label)}</text>")
    if y_ticks:
        for label, py in y.labels(5):
            parts.append(f"<line x1='{left - 4}' x2='{width - right}' y1='{num(py)}' y2='{num(py)}' "
                         f"stroke='#e6e6e6'/><text x='{left - 6}' y='{num(py + 3)}' class='tick' "
                         f"text-anchor='end'>{esc(label)}</text>")
    parts.append(body)
    parts.append(f"<text x='{(left + width - right) / 2:.0f}' y='{height - 3}' class='label' "
                 f"text-anchor='middle'>{esc(x_label)}</text>")
    parts.append(f"<text x='11' y='{(top + height - bottom) / 2:.0f}' class='label' text-anchor='middle' "
                 f"transform='rotate(-90 11 {(top + height - bottom) / 2:.0f})'>{esc(y_label)}</text></svg>")
    return "".join(parts)


def plot_area(width=WIDTH, height=HEIGHT):
    """(x start, x end, y start, y end) in pixels: y runs upwards."""
    left, right, top, bottom = MARGIN
    return left, width - right, height - bottom, top


def points(xs, ys, x, y, colour, radius=2.5, titles=None, opacity=0.7):
    marks = []
    for i, (a, b) in enumerate(zip(xs, ys)):
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            continue
        fill = colour[i] if isinstance(colour, list) else colour
        title = f"<title>{esc(titles[i])}</title>" if titles else ""
        marks.append(f"<circle cx='{num(x(a))}' cy='{num(y(b))}' r='{radius}' fill='{fill}'"
                     + (f">{title}</circle>" if title else "/>"))
    return f"<g fill-opacity='{opacity}'>{''.join(marks)}</g>"


def polyline(xs, ys, x, y, colour, width=1.5, step=False, dash=None):
    coords, previous = [], None
    for a, b in zip(xs, ys):
        if b is None or not math.isfinite(b):
            continue
        if step and previous is not None:
            coords.append(f"{num(x(a))},{num(y(previous))}")
        coords.append(f"{num(x(a))},{num(y(b))}")
        previous = b
    dashed = f" stroke-dasharray='{dash}'" if dash else ""
    return (f"<polyline points='{' '.join(coords)}' fill='none' stroke='{colour}' stroke-width='{width}'{dashed}/>"
            if coords else "")


def colour_scale(values, reverse=False):
    """A viridis colour (hex) per value, low to high (reversed: high values dark); None for a missing value."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    finite = [v for v in values if v is not None and math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = (high - low) or 1.0
    cmap = colormaps["viridis"]
    palette = [to_hex(cmap(i / 63)) for i in range(64)]
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
            continue
        share = (v - low) / span
        out.append(palette[int(round(63 * (1 - share if reverse else share)))])
    return out


def legend(items, x=60, y=14):
    """Coloured squares with labels, in one row at the top of a chart."""
    parts, offset = [], x
    for label, colour in items:
        parts.append(f"<rect x='{offset}' y='{y - 8}' width='9' height='9' fill='{colour}'/>"
                     f"<text x='{offset + 12}' y='{y}' class='tick'>{esc(label)}</text>")
        offset += 20 + 6 * len(label)
    return "".join(parts)


def colour_bar(low, high, width=160, reverse=False):
    """A small horizontal gradient key for `colour_scale`, drawn as 16 rects (no gradient definitions)."""
    colours = colour_scale([i / 15 for i in range(16)], reverse=reverse)
    cells = "".join(f"<rect x='{i * width / 16:.1f}' y='0' width='{width / 16 + 0.5:.1f}' height='10' fill='{c}'/>"
                    for i, c in enumerate(colours))
    return (f"<svg class='key' width='{width + 120}' height='24' viewBox='0 0 {width + 120} 24'>{cells}"
            f"<text x='0' y='22' class='tick'>{esc(tick_label(low))}</text>"
            f"<text x='{width}' y='22' class='tick' text-anchor='end'>{esc(tick_label(high))}</text></svg>")
