"""Render the view model into one self-contained index.html (jinja2, autoescape on).

Nothing in the page is fetched: CSS, JS and SVG are inline, there is no external link, and
any '://' in a value (an error naming a CIM URL, say) is broken with a zero-width space.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from harness.report import model
from harness.report.timeline_svg import journeys

REPORT_NAME = "index.html"
TABLE_SHORT = {"table107": "Table 107", "table106": "Table 106", "sld": "SLD", "rules": "Rules"}


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    text = str(value)
    if "://" in text:
        return Markup(str(escape(text)).replace("://", ":&#8203;//"))
    return text


def _secs(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.2f}"


def _duration(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)} min {seconds:.1f} s" if minutes else f"{seconds:.1f} s"


def _when(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _clock(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M:%S.%f")[:-3]
    except ValueError:
        return str(value or "")


def _firmware(value: Any) -> str:
    return str(value or "").removeprefix("Release version ").strip()


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        secs=_secs, duration=_duration, when=_when, clock=_clock, firmware=_firmware,
        verdict_label=lambda v: model.VERDICT_LABELS.get(str(v), str(v)),
    )  # fmt: skip
    return env


def _common() -> dict[str, Any]:
    from harness import __version__

    return {
        "harness_version": __version__,
        "table_titles": model.TABLES,
        "table_short": TABLE_SHORT,
        "verdicts": model.VERDICTS,
    }


def render_html(view: model.RunView) -> str:
    tables = [t for t in model.TABLES if view.table(t)]
    return environment().get_template("run.j2").render(run=view, journeys=journeys(view), tables=tables, **_common())


def render_run(run_dir: Path | str, out_dir: Path | str | None = None) -> Path:
    """Write index.html for one run directory (into `out_dir`, default the run directory); returns its path."""
    view = model.load_view(run_dir)
    target = Path(out_dir) if out_dir is not None else Path(run_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / REPORT_NAME
    path.write_text(render_html(view), encoding="utf-8")
    return path


def render_combined_html(
    views: Sequence[model.RunView], stated: tuple[str, str] | None = None, missing: Sequence[str] = ()
) -> str:
    combined = model.build_combined(list(views), stated, list(missing))
    return environment().get_template("combined.j2").render(combined=combined, **_common())


def render_combined(
    run_dirs: Sequence[Path | str],
    out_dir: Path | str,
    stated: tuple[str, str] | None = None,
    missing: Sequence[str] = (),
) -> Path:
    """Write one index.html with every run's rows side by side (rows by runs). A run of several targets
    gives its combined verdict and headline (`stated`) and the targets that left nothing to show."""
    views = [model.load_view(path, evidence=False) for path in run_dirs]
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / REPORT_NAME
    path.write_text(render_combined_html(views, stated, missing), encoding="utf-8")
    return path
