"""The Streamlit script: sidebar, routing by URL, and errors shown in the page.

Started by ``infomorph view LOGDIR`` (``streamlit run .../main.py -- LOGDIR``); the LOGDIR can
also come from the environment variable INFOMORPH_LOGDIR.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import streamlit as st

from inspector.app import nav
from inspector.app.route import Route
from inspector.errors import InfomorphError

LOGDIR_ENV = "INFOMORPH_LOGDIR"
REFRESH_SECONDS = 10


def _logdir() -> str | None:
    # `streamlit run main.py -- LOGDIR` leaves argv = [script, LOGDIR]; under a test runner
    # argv belongs to the runner, so only a script named like ours counts.
    script = Path(sys.argv[0]).name if sys.argv else ""
    if script in ("main.py", "app.py") and len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get(LOGDIR_ENV)


def _page(name: str):
    # Import only the page shown: the runs page must not pay for torch (via the PID engine).
    return importlib.import_module(f"inspector.app.{name}_page").show


def main() -> None:
    st.set_page_config(page_title="infomorph inspector", page_icon="🧠", layout="wide")
    logdir = _logdir()
    st.sidebar.title("infomorph inspector")
    if not logdir:
        st.error("No LOGDIR given: start the inspector with `infomorph view LOGDIR`.")
        return
    st.sidebar.caption(f"LOGDIR: `{logdir}`")
    if not Path(logdir).is_dir():
        st.error(f"LOGDIR {logdir} does not exist or is not a directory.")
        return
    bad_link = None
    try:
        route = nav.current()
    except InfomorphError as err:
        route, bad_link = Route(), err
    page = nav.page_picker(route.page)
    if page != route.page:
        nav.go(page=page)
    if st.sidebar.button("Refresh", help="re-read the runs; files that changed are reloaded"):
        st.rerun()
    live = st.sidebar.toggle(f"Auto-refresh every {REFRESH_SECONDS} s", value=False,
                             help="for runs still training")
    show = _page(route.page)

    def body() -> None:
        if bad_link is not None:
            st.error(f"Bad link: {bad_link}")
        try:
            show(logdir, route)
        except InfomorphError as err:
            st.error(str(err))
        except Exception as err:
            st.error(f"Could not show this page: {type(err).__name__}: {err}")

    if live:
        st.fragment(run_every=REFRESH_SECONDS)(body)()
    else:
        body()


if __name__ == "__main__":  # Streamlit runs this file as __main__
    main()
