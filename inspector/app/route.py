"""The URL of a page: which page, run, layer, neuron and checkpoint it shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from inspector.errors import InfomorphError

PAGES = ("runs", "layer", "neuron", "compare", "export")


@dataclass(frozen=True)
class Route:
    page: str = "runs"
    run: str | None = None
    layer: str | None = None
    neuron: int | None = None
    checkpoint: int | None = None
    runs: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, query: Mapping[str, list[str]]) -> Route:
        """From query parameters (name -> all its values). A deep link without ``page``
        opens the most specific page its parameters name."""
        one = {k: v[-1] for k, v in query.items() if v and k != "runs"}
        page = one.get("page") or ("neuron" if "neuron" in one else
                                   "layer" if "run" in one else "runs")
        if page not in PAGES:
            raise InfomorphError(f"unknown page {page!r}; pages are: {', '.join(PAGES)}")
        ints = {}
        for key in ("neuron", "checkpoint"):
            if key in one:
                try:
                    ints[key] = int(one[key])
                except ValueError:
                    raise InfomorphError(
                        f"{key} must be a whole number, got {one[key]!r}") from None
        return cls(page=page, run=one.get("run"), layer=one.get("layer"),
                   runs=tuple(query.get("runs", ())), **ints)

    def query(self) -> dict[str, str | list[str]]:
        """The query parameters of this route (unset fields left out)."""
        out: dict[str, str | list[str]] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == ():
                continue
            out[f.name] = list(value) if f.name == "runs" else str(value)
        return out
