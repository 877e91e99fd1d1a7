"""``python -m inspector.app.serve ARGS...``: Streamlit's ``streamlit ARGS...``, after loading
what the pages need.

A fresh server paid ~1.5 s on its first pages for imports and one-time set-ups (xarray's
netCDF decoders, altair's JSON schema, Arrow); paid here, before the server listens, the
first page a user opens renders as fast as any later one (bench/app_render.py).
"""

from __future__ import annotations

import contextlib
import logging
import sys

_QUIET = ("streamlit.runtime.caching.cache_data_api",
          "streamlit.runtime.scriptrunner_utils.script_run_context")


@contextlib.contextmanager
def _quiet_caches():
    """Streamlit's caches warn that no runtime (and no script run) exists yet: true and
    harmless here (a cache made now keeps its in-memory storage when the server starts;
    tested)."""
    loggers = [logging.getLogger(name) for name in _QUIET]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def warm() -> None:
    """Import the pages and run each one-time set-up once (~1.5 s, no file is read)."""
    import importlib
    import tempfile
    from pathlib import Path

    import altair as alt
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import streamlit.runtime.caching.cache_data_api  # noqa: F401  (creates its logger)
    import xarray as xr

    from inspector.app.route import PAGES
    from storage import open_analysis, write_analysis

    with _quiet_caches():
        for page in PAGES:
            importlib.import_module(f"inspector.app.{page}_page")
    # a netCDF round trip through a temporary file: the netCDF-C reader and xarray's
    # decoders load on first use (0.15 s on the first analysis otherwise)
    with tempfile.TemporaryDirectory() as tmp:
        open_analysis(write_analysis(xr.DataTree(xr.Dataset({"v": ("x", [0.0])})),
                                     Path(tmp) / "warm.nc"))
    frame = pd.DataFrame({"x": [0.0]})
    alt.Chart(frame).mark_point().encode(x="x:Q").to_dict()  # loads and checks the schema
    pa.Table.from_pandas(frame)

    from inspector.raster import png_data_url

    png_data_url(np.zeros((1, 1, 4), dtype=np.uint8))
    _first_page_checks()


def _first_page_checks() -> None:
    """Two checks Streamlit makes once per process, on the first page (measured in a server
    profile: ~0.85 s of the first script run, ~0.1 s of a later one). The page icon is
    looked up in Streamlit's emoji catalogue (importing it compiles a large regex); and before
    its first element Streamlit asks whether it runs in a REPL, to warn that apps need
    `streamlit run`: `inspect.stack()` resolves the module of every frame, thousands of
    `realpath` calls with torch imported. This server is `streamlit run`, so the warning
    does not apply and is marked as given (a private flag: a test pins that it exists)."""
    import streamlit.delta_generator as delta_generator
    import streamlit.emojis  # noqa: F401

    delta_generator._use_warning_has_been_displayed = True


WARM_RUNS = 4
"""At most this many runs' layer pages are prepared before the server listens."""
WARM_SECONDS = 3.0
"""... and no more once this much time has gone into them."""


def warm_runs(logdir: str) -> list[str]:
    """Prepare the layer page of the first analysed runs in the runs page's order (their
    analysis opened, its first charts built and cached: ~0.5 s of a first visit for a run
    of 1000 neurons x 100 checkpoints). Returns the runs prepared."""
    import time

    from inspector.app import context, layer_page

    start, done = time.perf_counter(), []
    with _quiet_caches():
        for run in context.analysed(logdir)[:WARM_RUNS]:
            if time.perf_counter() - start > WARM_SECONDS:
                break
            try:
                layer_page.first_charts(logdir, run)
            except Exception:  # the page shows this run's error when it is visited
                continue
            done.append(run)
    return done


def main(argv: list[str]) -> int:
    from inspector.allocator import keep_freed_memory

    keep_freed_memory()  # chart data and analyses: large blocks, allocated and freed per page
    try:
        warm()
        if "--" in argv[:-1]:  # streamlit run SCRIPT ... -- LOGDIR
            warm_runs(argv[argv.index("--") + 1])
    except Exception as err:  # a slower first page beats no inspector at all
        print(f"infomorph view: warm-up skipped ({type(err).__name__}: {err})", file=sys.stderr)
    from streamlit.web.cli import main as streamlit

    return streamlit(args=argv, prog_name="streamlit", standalone_mode=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
