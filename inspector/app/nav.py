"""Moving between pages: the URL's query parameters are the state, widgets write to them."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import streamlit as st

from inspector.app.route import PAGES, Route

TITLES = {"runs": "Runs", "layer": "Layer", "neuron": "Neuron", "compare": "Compare",
          "export": "Export"}


def current() -> Route:
    """The route in the URL (raises InfomorphError on a malformed link)."""
    params = st.query_params
    return Route.parse({key: params.get_all(key) for key in params.keys()})


def _safe_current() -> Route:
    try:
        return current()
    except Exception:
        return Route()


def go(**changes) -> None:
    """Change the route and rerun; unspecified fields keep their value."""
    route = dataclasses.replace(_safe_current(), **changes)
    st.query_params.from_dict(route.query())
    st.rerun()


def link(route: Route) -> str:
    """A relative deep link to ``route`` (for tables and to copy)."""
    return "?" + urlencode(route.query(), doseq=True)


def page_picker(page: str) -> str:
    return st.sidebar.radio("Page", PAGES, index=PAGES.index(page),
                            format_func=TITLES.__getitem__, key=f"page-{page}")


def pick(label: str, options: list, current, key: str, **kwargs):
    """A selectbox showing ``current`` (or the first option); returns the chosen option.
    Keyed by the current value, so the URL always wins over an older widget state."""
    options = list(options)
    index = options.index(current) if current in options else 0
    return st.selectbox(label, options, index=index, key=f"{key}-{current}", **kwargs)
