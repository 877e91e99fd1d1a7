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
    settle(**changes)
    st.rerun()


def settle(**changes) -> None:
    """Change the route with no rerun. For values the URL left out (the page shows defaults
    for them): the link stays complete, and the page is not drawn twice. And from a widget's
    callback (:func:`on_click`)."""
    st.query_params.from_dict(dataclasses.replace(_safe_current(), **changes).query())


def on_click(from_widgets: dict[str, tuple[str, type]] | None = None, **changes) -> dict:
    """Keyword arguments for a button that moves to another route: Streamlit runs the
    callback before the script, so the click's run draws the new page at once (with
    :func:`go` the old page runs once more first, only to reach its button). Fields in
    ``from_widgets`` ({field: (widget key, type)}) take the widget's value at the click, not
    the value it had when the button was drawn."""

    def move() -> None:
        values = {field: kind(st.session_state[key])
                  for field, (key, kind) in (from_widgets or {}).items()
                  if key in st.session_state}
        settle(**changes, **values)

    return {"on_click": move}


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
    key = f"page-{page}"
    return st.sidebar.radio("Page", PAGES, index=PAGES.index(page),
                            format_func=TITLES.__getitem__, key=key,
                            on_change=lambda: settle(page=st.session_state[key]))


def pick(label: str, options: list, current, key: str, **kwargs):
    """A selectbox showing ``current`` (or the first option); returns the chosen option.
    Keyed by the value shown, so the URL always wins over an older widget state, and a
    default settled into the URL keeps the same widget."""
    options = list(options)
    index = options.index(current) if current in options else 0
    return st.selectbox(label, options, index=index, key=f"{key}-{options[index]}", **kwargs)
