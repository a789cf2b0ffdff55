"""Static SVG charts made at build time: a story's outlet meter, its coverage over time, the subject's volume.

Pure functions of datetimes and counts. Every string that reaches the SVG is made here (numbers, dates
and fixed words), never taken from feeds, and is escaped anyway; so the charts are markupsafe.Markup,
which the page templates insert as they are. Colours come from CSS (`currentColor`
and classes in site/overrides/assets/stylesheets/monitor.css) so the light and dark schemes both work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from html import escape

from markupsafe import Markup

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Bucket widths tried in order; the first that fits the span in `max_buckets` wins.
STEPS = (HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY, 28 * DAY)


def _floor(t: datetime, step: timedelta) -> datetime:
    t = t.astimezone(timezone.utc)
    if step < DAY:
        hours = int(step / HOUR)
        return t.replace(minute=0, second=0, microsecond=0, hour=t.hour - t.hour % hours)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if step == 7 * DAY:
        return day - timedelta(days=day.weekday())  # weeks start on Monday
    if step > 7 * DAY:
        return day.replace(day=1)
    return day


def buckets(times: Iterable[datetime], *, max_buckets: int = 24, start: datetime | None = None,
            end: datetime | None = None) -> tuple[timedelta, list[tuple[datetime, int]]]:
    """Count `times` into equal buckets covering start..end (default: first..last time).

    Returns the bucket width and (bucket start, count) pairs, oldest first. Month-wide buckets are
    calendar months.
    """
    ts = sorted(t.astimezone(timezone.utc) for t in times)
    if not ts and (start is None or end is None):
        return HOUR, []
    lo = start or ts[0]
    hi = end or ts[-1]
    step = STEPS[-1]
    for s in STEPS:
        if (hi - _floor(lo, s)) / s < max_buckets:
            step = s
            break
    first = _floor(lo, step)
    keys: list[datetime] = []
    k = first
    while k <= hi:
        keys.append(k)
        k = _next(k, step)
    keys = keys[-max_buckets * 2:] if step == STEPS[-1] else keys
    counts = Counter(_floor(t, step) for t in ts if t >= first)
    return step, [(k, counts.get(k, 0)) for k in keys]


def _next(k: datetime, step: timedelta) -> datetime:
    if step > 7 * DAY:  # calendar month
        return (k.replace(day=28) + timedelta(days=4)).replace(day=1)
    return k + step


def _label(k: datetime, step: timedelta) -> str:
    if step < DAY:
        return k.strftime("%d %b %H:%M")
    if step > 7 * DAY:
        return k.strftime("%b %Y")
    return k.strftime("%d %b %Y")


def _unit(step: timedelta) -> str:
    return {HOUR: "hour", 3 * HOUR: "3 hours", 6 * HOUR: "6 hours", 12 * HOUR: "12 hours",
            DAY: "day", 7 * DAY: "week"}.get(step, "month")


METER_SCALE = 10  # marks in a story's outlet meter: one per independent outlet, the tenth meaning "10 or more"


def outlet_meter(outlets: int, *, scale: int = METER_SCALE) -> Markup:
    """A row of `scale` marks, one filled per independent outlet: the same scale on every row, so a story of
    one outlet shows one mark whatever its number of articles. The filled and the empty marks are one path
    each: an archive month lists hundreds of rows, and every element costs the Markdown build time."""
    filled = max(0, min(outlets, scale))
    w, gap, h, r = 7, 2, 12, 1.5

    def marks(indexes: range) -> str:  # rounded rectangles (corner radius r), each one step right of the last
        shape = (f"h{w - 2 * r:g}a{r} {r} 0 0 1 {r} {r}v{h - 2 * r:g}a{r} {r} 0 0 1-{r} {r}"
                 f"h-{w - 2 * r:g}a{r} {r} 0 0 1-{r}-{r}v-{h - 2 * r:g}a{r} {r} 0 0 1 {r}-{r}z")
        return f"M{indexes.start * (w + gap) + r:g} 0" + f"m{w + gap} 0".join(shape for _ in indexes)

    paths = "".join(f'<path class="{cls}" d="{marks(idx)}"/>' for cls, idx in
                    (("mn-mark", range(filled)), ("mn-mark mn-mark--empty", range(filled, scale))) if idx)
    more = " or more" if outlets >= scale else ""
    label = f"{outlets} independent outlet{'s' if outlets != 1 else ''} on a scale of {scale}{more}"
    width = scale * (w + gap) - gap
    return Markup(f'<svg class="mn-meter-svg" viewBox="0 0 {width} {h}" width="{width}" height="{h}" role="img" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title>{paths}</svg>')


def bar_chart(data: Sequence[tuple[datetime, int]], step: timedelta, *, title: str, width: int = 480,
              height: int = 150, css_class: str = "mn-chart") -> Markup:
    """A labelled bar chart of counts per bucket: axis line, peak value, first/middle/last dates.

    Drawn 480 units wide with 13-unit labels: the CSS caps its width at 36rem, so labels are about 15 px on a
    wide screen and still 9 px or more on a 390 px phone (the SVG scales with the column)."""
    if not data:
        return Markup()
    top, bottom, left = 16, 24, 34
    plot_h = height - top - bottom
    plot_w = width - left
    peak = max(c for _, c in data) or 1
    bw = plot_w / len(data)
    parts = [f'<line class="mn-axis" x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}"/>',
             f'<line class="mn-grid" x1="{left}" y1="{top}" x2="{width}" y2="{top}"/>',
             f'<text class="mn-tick" x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
             f'<text class="mn-tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, (k, c) in enumerate(data):
        if not c:
            continue
        h = max(plot_h * c / peak, 1.5)
        parts.append(f'<rect class="mn-bar" x="{left + i * bw + bw * 0.1:.1f}" y="{top + plot_h - h:.1f}" '
                     f'width="{max(bw * 0.8, 1):.1f}" height="{h:.1f}">'
                     f'<title>{escape(_label(k, step))} UTC: {c}</title></rect>')
    ticks = sorted({0, len(data) // 2, len(data) - 1})
    for j, i in enumerate(ticks):
        anchor = ("start", "middle", "end")[min(j, 2)] if len(ticks) == 3 else ("start", "end")[min(j, 1)]
        x = left + i * bw + (bw / 2 if anchor == "middle" else 0 if anchor == "start" else bw)
        parts.append(f'<text class="mn-tick" x="{x:.1f}" y="{height - 5}" text-anchor="{anchor}">'
                     f'{escape(_label(data[i][0], step))}</text>')
    total = sum(c for _, c in data)
    label = f"{title}: {total} articles, per {_unit(step)}"
    return Markup(f'<svg class="{escape(css_class)}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>{"".join(parts)}</svg>')


def coverage_chart(times: Sequence[datetime]) -> Markup:
    """A story's articles per bucket, for its page."""
    step, data = buckets(times, max_buckets=36)
    return bar_chart(data, step, title="Articles about this story", height=120)


def volume_chart(times: Sequence[datetime], *, now: datetime, days: int | None = 30) -> Markup:
    """The subject's articles per day over the last `days` days (None: the whole history, weekly or monthly)."""
    if days is not None:
        end = now.astimezone(timezone.utc)
        start = _floor(end - (days - 1) * DAY, DAY)
        data = [(start + i * DAY, 0) for i in range(days)]
        counts = Counter(_floor(t, DAY) for t in times if t >= start)
        data = [(k, counts.get(k, 0)) for k, _ in data]
        return bar_chart(data, DAY, title=f"Articles per day, last {days} days", height=110,
                         css_class="mn-chart mn-volume")
    if not times:
        return Markup()
    step, data = buckets(times, max_buckets=60, end=max(max(times), now))
    return bar_chart(data, step, title="Articles over the whole archive", height=120, css_class="mn-chart mn-volume")
