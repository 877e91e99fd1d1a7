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


def settle(**defaults) -> None:
    """Write values the URL left out (the page shows defaults for them) into the URL, with
    no rerun: the link stays complete, and the page is not drawn twice."""
    st.query_params.from_dict(dataclasses.replace(_safe_current(), **defaults).query())


def follow(field: str, chosen, named) -> None:
    """After a picker: ``chosen`` becomes the URL's ``field``, settled when the URL named
    nothing (``named`` is None), followed with a rerun when the user picked another."""
    if named is None:
        settle(**{field: chosen})
    elif chosen != named:
        go(**{field: chosen})


def link(route: Route) -> str:
    """A relative deep link to ``route`` (for tables and to copy)."""
    return "?" + urlencode(route.query(), doseq=True)


def page_picker(page: str) -> str:
    return st.sidebar.radio("Page", PAGES, index=PAGES.index(page),
                            format_func=TITLES.__getitem__, key=f"page-{page}")


def pick(label: str, options: list, current, key: str, **kwargs):
    """A selectbox showing ``current`` (or the first option); returns the chosen option.
    Keyed by the value shown, so the URL always wins over an older widget state, and a
    default settled into the URL keeps the same widget."""
    options = list(options)
    index = options.index(current) if current in options else 0
    return st.selectbox(label, options, index=index, key=f"{key}-{options[index]}", **kwargs)
