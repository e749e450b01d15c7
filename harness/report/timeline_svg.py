"""Inline SVG timelines: what each array reported over time, one chart per DR journey.

Lanes per array: Role (CLI), CopyState, SyncState, ProgressStatus (CIM, every pair; "mixed" when
the pairs differ). Commands and events are vertical markers; each row's checkpoint (the time
span of the observations that decided it) is a bar coloured by its verdict. Pure string
building: every text goes through `_esc`, so the result is safe to inline as Markup.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from harness.report.model import CommandView, RowView, RunView
from harness.verdicts import format_value

WIDTH = 1000
LEFT = 170
RIGHT = 12
LANE_H = 15
LANE_GAP = 3
LANES = ("Role", "CopyState", "SyncState", "ProgressStatus")
VERDICT_FILL = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#9a6700", "not_observed": "#8c959f",
                "skipped": "#afb8c1", "out_of_scope": "#afb8c1"}  # fmt: skip
PALETTE = ("#dbe9f9", "#e4dcf5", "#d5efe9", "#f6e7c8", "#f3d9e6", "#e2ecd0", "#d9e2ec", "#f1e0d3",
           "#cfe3f0", "#ece4f6", "#dff1dc", "#f7efd2", "#e7e1da", "#d8ecf3", "#efdcea")  # fmt: skip
ROLE_COLOURS = {"Primary": "#cfe0f7", "Secondary": "#e1d8f4", "Primary-Rev": "#f7dcc4", "Secondary-Rev": "#f3d0e0"}
UNREAD = "#eaeef2"


@dataclass
class Journey:
    title: str
    start: float
    end: float
    svg: Markup


def _esc(text: Any) -> str:
    """Escaped text for SVG; '://' is broken with a zero-width space so no URL appears in the page."""
    return str(escape(str(text))).replace("://", ":&#8203;//")


def journeys(view: RunView) -> list[Journey]:
    """One chart per stretch of the run: normal-operation stages together, each DR journey on its own."""
    data = view.data
    if not data.observations:
        return []
    t_first = min(float(o["t_start"]) for o in data.observations)
    t_last = max(float(o["t_end"]) for o in data.observations)
    spans = _spans(data.events, t_first, t_last)
    out = []
    dr_number = 0
    for start, end, stages in spans:
        dr = [s for s in stages if s != "natural" and not s.startswith("normal")]
        if not data.events:
            title = "Run timeline"
        elif dr:
            dr_number += 1
            title = f"DR journey {dr_number}: " + " → ".join(dict.fromkeys(dr))
        else:
            normal = dict.fromkeys(s for s in stages if s != "natural")
            title = "Normal operation (Table 106 stages): " + ", ".join(normal)
        out.append(Journey(title, start, end, draw(view, start, end)))
    return out


def _spans(events: list[dict[str, Any]], t_first: float, t_last: float) -> list[tuple[float, float, list[str]]]:
    arrivals = [(float(e["t"]), str(e.get("stage"))) for e in events if e.get("kind") == "stage"]
    if not arrivals:
        return [(t_first, t_last, [])]
    # cut at every return to the natural state, then merge neighbouring normal-operation stretches
    cuts = [t for t, stage in arrivals if stage == "natural"]
    bounds = [t_first, *[c for c in cuts if t_first < c < t_last], t_last]
    raw = []
    for a, b in itertools.pairwise(bounds):
        stages = [s for t, s in arrivals if a < t <= b]
        raw.append((a, b, stages))
    merged: list[tuple[float, float, list[str]]] = []
    for a, b, stages in raw:
        is_dr = any(s != "natural" and not s.startswith("normal") for s in stages)
        prev_dr = merged and any(s != "natural" and not s.startswith("normal") for s in merged[-1][2])
        if merged and not is_dr and not prev_dr:
            merged[-1] = (merged[-1][0], b, merged[-1][2] + stages)
        else:
            merged.append((a, b, stages))
    return merged


def _lane_value(obs: dict[str, Any], lane: str) -> tuple[str, str]:
    """(short label, full text) of one lane for one observation."""
    if lane == "Role":
        cli = obs.get("cli")
        if not cli:
            return "—", f"CLI not read: {obs.get('cli_error') or 'no data'}"
        role = cli.get("role")
        return str(role), f"Role {role} (group {cli.get('status')}, target {cli.get('target_status')})"
    cim = obs.get("cim")
    if not cim:
        return "—", f"CIM not read: {obs.get('cim_error') or 'no data'}"
    pairs = cim.get("pairs") or []
    if not pairs:
        return "no pairs", f"{lane}: no pairs reported"
    values = list(dict.fromkeys(format_value(lane, (p.get("properties") or {}).get(lane)) for p in pairs))
    if len(values) == 1:
        return values[0].split(" (")[0], f"{lane} {values[0]}"
    return "mixed", f"{lane} mixed: " + " / ".join(values)


def _colour(lane: str, label: str, value: Any) -> str:
    if label in ("—", "no pairs"):
        return UNREAD
    if lane == "Role":
        return ROLE_COLOURS.get(label, PALETTE[len(label) % len(PALETTE)])
    if isinstance(value, int) and not isinstance(value, bool):
        return PALETTE[value % len(PALETTE)]
    return "#fff1c1"  # mixed


Segment = tuple[float, float, str, str, str]  # start, end, label, full text, colour


def _segments(observations: list[dict[str, Any]], lane: str, start: float, end: float) -> list[Segment]:
    segs: list[Segment] = []
    inside = [o for o in observations if start <= float(o["t_start"]) <= end]
    for n, obs in enumerate(inside):
        t0 = float(obs["t_start"])
        t1 = float(inside[n + 1]["t_start"]) if n + 1 < len(inside) else min(end, float(obs["t_end"]))
        label, full = _lane_value(obs, lane)
        pairs = (obs.get("cim") or {}).get("pairs") or []
        raw = (pairs[0].get("properties") or {}).get(lane) if pairs and lane != "Role" else None
        colour = _colour(lane, label, raw)
        if segs and segs[-1][2] == label:
            segs[-1] = (segs[-1][0], t1, label, full, colour)
        else:
            segs.append((t0, t1, label, full, colour))
    return segs


def _label_extent(x0: float, x1: float, text_width: float) -> tuple[float, float]:
    """Horizontal extent of a bar from x0 to x1 with its label (after it, or before it at the right edge)."""
    if x1 + 3 + text_width <= WIDTH - 2:
        return (x0, x1 + 3 + text_width)
    return (x0 - 3 - text_width, x1)


def _label(x0: float, x1: float, text_width: float, y: float, cls: str, text: str, fill: str | None = None) -> str:
    colour = f' fill="{fill}"' if fill else ""
    if x1 + 3 + text_width <= WIDTH - 2:
        return f'<text x="{x1 + 3:.1f}" y="{y}" class="{cls}"{colour}>{_esc(text)}</text>'
    return f'<text x="{x0 - 3:.1f}" y="{y}" class="{cls}" text-anchor="end"{colour}>{_esc(text)}</text>'


def _fit(label: str, width: float) -> str:
    """The label, shortened with an ellipsis to fit `width` (empty when not even 3 characters fit)."""
    room = int((width - 6) / 6.0)
    if room >= len(label):
        return label
    return label[: room - 1] + "…" if room >= 4 else ""


def _stack(items: list[tuple[float, float]], min_gap: float) -> list[int]:
    """Level for each (x0, x1) so that items on one level do not overlap."""
    taken: list[list[tuple[float, float]]] = []
    levels = []
    for x0, x1 in items:
        for level, spans in enumerate(taken):
            if all(x1 + min_gap <= a or x0 >= b + min_gap for a, b in spans):
                spans.append((x0, x1))
                levels.append(level)
                break
        else:
            taken.append([(x0, x1)])
            levels.append(len(taken) - 1)
    return levels


def draw(view: RunView, start: float, end: float) -> Markup:
    span = max(end - start, 1e-6)
    plot = WIDTH - LEFT - RIGHT

    def x(t: float) -> float:
        return LEFT + (min(max(t, start), end) - start) / span * plot

    parts: list[str] = []
    y = 4
    # checkpoints: one bar per row decided in this stretch
    checkpoints = _checkpoints(view.rows, start, end)
    items = [_label_extent(x(a), max(x(b), x(a) + 3), 6.5 * len(r.id)) for r, a, b in checkpoints]
    levels = _stack(items, 4)
    rows_h = (max(levels) + 1) * 14 if levels else 0
    if checkpoints:
        parts.append(f'<text x="4" y="{y + 10}" class="lbl">checkpoints</text>')
    for (row, a, b), level in zip(checkpoints, levels, strict=True):
        yy = y + level * 14
        x0 = x(a)
        w = max(x(b) - x0, 3.0)
        fill = VERDICT_FILL.get(row.verdict, "#8c959f")
        label = _label(x0, x0 + w, 6.5 * len(row.id), yy + 9, "cpl", row.id)
        parts.append(f'<g class="cp v-{_esc(row.verdict)}"><title>{_esc(row.id)}: {_esc(row.verdict)} — '
                     f'{_esc(row.reason)}</title><rect x="{x0:.1f}" y="{yy}" width="{w:.1f}" height="11" rx="2" '
                     f'fill="{fill}"/>{label}</g>')  # fmt: skip
    y += rows_h + 6
    lanes_top = y
    arrays = [a for a in view.array_keys if a in view.data.by_array]
    for array in arrays:
        observations = view.data.by_array[array]
        for lane in LANES:
            parts.append(f'<text x="4" y="{y + 11}" class="lbl">{_esc(array)} · {lane}</text>')
            parts.append(f'<rect x="{LEFT}" y="{y}" width="{plot}" height="{LANE_H}" fill="#f6f8fa"/>')
            for t0, t1, label, full, colour in _segments(observations, lane, start, end):
                x0, x1 = x(t0), x(t1)
                w = max(x1 - x0, 0.8)
                parts.append(f'<g><title>{_esc(array)} {_esc(full)}, t {t0:.2f} to {t1:.2f} s</title>'
                             f'<rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{LANE_H}" fill="{colour}" '
                             f'stroke="#fff" stroke-width="0.5"/>')  # fmt: skip
                shown = _fit(label, w)
                if shown:
                    parts.append(f'<text x="{x0 + 3:.1f}" y="{y + 11}" class="val">{_esc(shown)}</text>')
                parts.append("</g>")
            y += LANE_H + LANE_GAP
        y += 6
    lanes_bottom = y
    # commands and events
    actions = [a for a in view.actions if a.t_start is not None and start <= a.t_start <= end]
    labels = [_label_extent(x(a.t_start or 0), x(a.t_start or 0), 6.0 * len(_action_label(a))) for a in actions]
    levels = _stack(labels, 4)
    for action, level in zip(actions, levels, strict=True):
        colour = "#0969da" if action.kind == "command" else "#bc4c00"
        if action.status not in (None, 0):
            colour = "#cf222e"
        ax = x(action.t_start or 0)
        end_x = x(action.t_end) if action.t_end is not None else ax
        ly = lanes_bottom + 12 + level * 13
        label = _label(ax, ax, 6.0 * len(_action_label(action)), ly, "mkl", _action_label(action), colour)
        parts.append(f'<g class="mk"><title>{_esc(_action_title(action))}</title>'
                     f'<rect x="{ax:.1f}" y="{lanes_bottom - 4}" width="{max(end_x - ax, 1.2):.1f}" '
                     f'height="4" fill="{colour}" opacity="0.55"/>'
                     f'<line x1="{ax:.1f}" y1="{lanes_top - 2}" x2="{ax:.1f}" y2="{ly - 9}" stroke="{colour}" '
                     f'stroke-dasharray="3,2"/>{label}</g>')  # fmt: skip
    y = lanes_bottom + 12 + ((max(levels) + 1) * 13 if levels else 0)
    # time axis
    parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#8c959f"/>')
    step = _tick_step(span)
    tick = (int(start / step) + 1) * step
    parts.append(f'<text x="{LEFT}" y="{y + 13}" class="tick">{start:.1f} s</text>')
    while tick < end - step * 0.3:
        tx = x(tick)
        if tx - LEFT > 40:
            parts.append(f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + 4}" stroke="#8c959f"/>')
            parts.append(f'<text x="{tx:.1f}" y="{y + 13}" class="tick" text-anchor="middle">{tick:g}</text>')
        tick += step
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{y + 13}" class="tick" text-anchor="end">{end:.1f} s</text>')
    height = y + 18
    return Markup(f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
                  f'aria-label="timeline {start:.1f} to {end:.1f} s">' + "".join(parts) + "</svg>")  # fmt: skip


def _tick_step(span: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 3600):
        if span / step <= 14:
            return float(step)
    return 7200.0


def _checkpoints(rows: list[RowView], start: float, end: float) -> list[tuple[RowView, float, float]]:
    out = []
    for row in rows:
        ev = row.evidence
        if ev is None or ev.window is None or row.table == "rules":
            continue
        a, b = ev.window
        if a <= end and b >= start:
            out.append((row, a, b))
    out.sort(key=lambda item: item[1])
    return out


def _action_label(action: CommandView) -> str:
    text = action.label
    if action.kind == "command":
        words = [w for w in text.split() if not w.startswith("-")]
        text = " ".join(words[:2]) if words and words[0] == "setrcopygroup" else words[0] if words else text
        text = text.removeprefix("setrcopygroup ")
    elif action.kind == "fault":
        text = f"fault {text}"
    if action.status not in (None, 0):
        text += " ✗"
    return text


def _action_title(action: CommandView) -> str:
    where = f" on {action.array}" if action.array else ""
    timing = f" at {action.t_start:.2f} s" if action.t_start is not None else ""
    if action.duration is not None:
        timing += f" ({action.duration:.2f} s)"
    status = f", exit status {action.status}" if action.status is not None else ""
    return f"{action.kind}{where}: {action.label}{timing}{status}"
