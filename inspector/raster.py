"""Matrices drawn as one image inside a Vega-Lite chart, coloured like Vega's ``redblue``.

A browser draws a 250 x 100 matrix as one PNG in ~0.05 s; as 25k rect marks it took Vega
~0.6 s of CPU (bench/app_render.py). The image is embedded as a data URL, so the chart
stays one self-contained spec that the app, vl-convert (SVG/PNG/PDF) and notebooks all
draw; an invisible layer carries the colour scale, so the legend is Vega's own gradient.
"""

from __future__ import annotations

import base64
import io
import math
import warnings

import altair as alt
import numpy as np
import pandas as pd

# Vega's "redblue" scheme (d3's RdBu), interpolated piecewise-linearly in RGB as Vega does.
_REDBLUE = ("67001f", "b2182b", "d6604d", "f4a582", "fddbc7", "f7f7f7", "d1e5f0", "92c5de",
            "4393c3", "2166ac", "053061")
_ANCHORS = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in _REDBLUE], dtype=float)


def diverging_rgba(values: np.ndarray, limit: float) -> np.ndarray:
    """RGBA bytes (*shape, 4) for ``values`` on Vega's reversed ``redblue`` scale with
    domain [-limit, limit]: blue below zero, white at zero, red above (clamped beyond the
    domain); NaN cells are transparent."""
    anchors = _ANCHORS[::-1]  # reversed: the low end is blue
    missing = ~np.isfinite(values)
    t = np.clip((np.where(missing, 0.0, values) + limit) / (2 * limit), 0.0, 1.0)
    t = t * (len(anchors) - 1)
    i = np.minimum(t.astype(int), len(anchors) - 2)
    f = (t - i)[..., None]
    rgb = anchors[i] * (1 - f) + anchors[i + 1] * f
    rgba = np.empty((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.rint(rgb)
    rgba[..., 3] = np.where(missing, 0, 255)
    return rgba


def png_data_url(rgba: np.ndarray) -> str:
    """An (rows, cols, 4) uint8 array as a ``data:image/png;base64,...`` URL."""
    from PIL import Image  # a Streamlit dependency; imported where an image is drawn

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), "RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def block_mean(values: np.ndarray, max_rows: int, max_cols: int) -> tuple[np.ndarray, int, int]:
    """Average adjacent rows / columns into blocks so that at most ``max_rows`` x
    ``max_cols`` cells remain (a trailing partial block averages what it has).
    Returns (blocked values, rows per block, columns per block)."""
    rows, cols = values.shape
    by_row = max(1, math.ceil(rows / max_rows))
    by_col = max(1, math.ceil(cols / max_cols))
    if by_row == by_col == 1:
        return values, 1, 1
    padded = np.pad(values.astype(float), ((0, -rows % by_row), (0, -cols % by_col)),
                    constant_values=np.nan)
    blocks = padded.reshape(padded.shape[0] // by_row, by_row, padded.shape[1] // by_col,
                            by_col)
    with warnings.catch_warnings():  # all-NaN blocks stay NaN (drawn transparent)
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(blocks, axis=(1, 3)), by_row, by_col


def image_chart(values: np.ndarray, limit: float, *, x_title: str, y_title: str,
                legend_title: str, width: int, height: int,
                blank_color: str | None = None) -> alt.LayerChart:
    """A (rows, cols) matrix as one image, row 0 at the top, coloured on [-limit, limit]
    with a gradient legend. Axes carry titles only: rows and columns are positions. NaN
    cells are transparent, or ``blank_color`` (drawn behind the image) where given: a
    near-zero value is near-white, so blanks need a colour of their own to be told apart."""
    rows, cols = values.shape
    url = png_data_url(diverging_rgba(values, limit))
    axis = alt.Axis(labels=False, ticks=False, grid=False)
    base = alt.Chart(pd.DataFrame({"url": [url], "x": [0], "x2": [cols], "y": [0],
                                   "y2": [rows]})).encode(
        x=alt.X("x:Q", title=x_title, axis=axis, scale=alt.Scale(domain=[0, cols], nice=False,
                                                                 zero=False)),
        x2=alt.X2("x2"),
        y=alt.Y("y:Q", title=y_title, axis=axis, scale=alt.Scale(domain=[rows, 0], nice=False,
                                                                 zero=False)),
        y2=alt.Y2("y2"))
    image = base.mark_image(aspect=False, smooth=False).encode(url=alt.Url("url:N"))
    behind = [base.mark_rect(color=blank_color)] if blank_color else []
    legend = alt.Chart(pd.DataFrame({"value": [-limit, limit]})).mark_point(opacity=0).encode(
        color=alt.Color("value:Q", title=legend_title,
                        legend=alt.Legend(gradientLength=min(150, max(60, height - 40))),
                        scale=alt.Scale(scheme="redblue", domain=[-limit, limit],
                                        reverse=True)))
    return alt.layer(*behind, image, legend).properties(width=width, height=height)
