"""Altair charts as finished Vega-Lite specs for Streamlit: converted once, drawn many times.

``st.altair_chart`` converts its chart on every script run: ``to_dict`` with a JSON-schema
validation of the whole spec (~50 ms a chart, ~0.15 s for the layer page's three) and the
data to Arrow. The app converts each chart once instead (``spec``, cached with the chart in
``inspector.app.data``) and hands the finished spec to ``st.vega_lite_chart`` (``draw``).
Without validation: the chart builders' specs are validated by the tests, not on each view.
"""

from __future__ import annotations

import hashlib
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
import streamlit as st

from inspector.charts import ALTAIR_GLOBALS

_TRANSFORMER = "infomorph-named-frames"


def _frame_name(frame: pd.DataFrame) -> str:
    """A name from the frame's content: the same data keeps its name across reruns (the
    browser then keeps the drawn chart)."""
    digest = hashlib.sha1(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    return f"data-{digest.hexdigest()[:16]}"


def _name_frames(data: Any, frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """altair data transformer: keep the frame (Streamlit sends it as Arrow), refer by name."""
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    name = _frame_name(frame)
    frames[name] = frame
    return {"name": name}


alt.data_transformers.register(_TRANSFORMER, _name_frames)


def spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec with its data frames under ``datasets`` as Arrow tables (not
    validated; Streamlit's theme, not altair's default view size). Treat the result as
    read-only: ``draw`` does not modify it, so it can be cached and drawn again.

    Streamlit would convert DataFrames to Arrow on every draw, with pyarrow's threads for
    frames of a few hundred rows: a fresh server's first page spent 0.3 s starting those
    threads (profiled); an Arrow table is only serialised."""
    frames: dict[str, pd.DataFrame] = {}
    with ALTAIR_GLOBALS, alt.theme.enable("none"), alt.data_transformers.enable(
            _TRANSFORMER, frames=frames):
        out = chart.to_dict(validate=False)
    tables = {name: pa.Table.from_pandas(frame, nthreads=1) for name, frame in frames.items()}
    out["datasets"] = {**out.get("datasets", {}), **tables}
    return out


def draw(chart: alt.TopLevelMixin | dict, where=st, **kwargs):
    """Draw a chart or a finished spec in ``where`` (a container, default the page); the
    keyword arguments are ``st.vega_lite_chart``'s (key, on_select, width...). Returns what
    it returns (the selection state when ``on_select`` is set)."""
    finished = chart if isinstance(chart, dict) else spec(chart)
    return where.vega_lite_chart(finished, **kwargs)


def draw_square(chart: alt.Chart, where=st, **kwargs):
    """Draw an image-like chart (receptive field, input maps) at its own size with Vega's
    "pad" autosize: Streamlit's default "fit" squeezes the plot to the column and its square
    cells with it. Set here, not in the chart builders: a sub-chart with an autosize cannot
    be concatenated (Vega-Lite allows it only at the top level)."""
    return draw(chart.properties(autosize=alt.AutoSizeParams(type="pad")), where,
                width="content", **kwargs)

