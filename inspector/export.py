"""Atom tables for papers, from a ``load``-ed collection of analysed runs.

- ``atom_table``: per group of runs that differ only in their seed (``curves.group_names``:
  preset, goal and settings) and layer, at one checkpoint (default: each run's last), the
  mean +- s.d. over runs of the layer-mean of each atom, with n; bits.
- ``neuron_table``: every neuron's atoms and class at that checkpoint, tidy (one row per atom).
- writers: tidy CSV with a ``#`` provenance header, Parquet (provenance in the file's
  metadata), Markdown, and LaTeX with booktabs (ASCII source, atoms typeset as Pi with the
  antichain as subscript).
"""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from inspector import __version__
from inspector.atom_classes import CLASS_RULE
from inspector.collection import json_coordinate, merged_order
from inspector.errors import InfomorphError
from inspector.significance import q_values, significant_share
from storage import is_hdf5

TABLE_FORMATS = ("csv", "parquet", "markdown", "latex")


def _at_checkpoint(ds: xr.Dataset, checkpoint: str | int) -> xr.Dataset:
    """One checkpoint per run: its last recorded one, or a given step (runs without any
    analysed checkpoint in this layer are left out). One vectorised selection: selecting
    and concatenating run by run cost 40 ms a run."""
    present = _analysed(ds)
    steps = ds.checkpoint.values
    keep, index = [], []
    for i, run in enumerate(ds.run.values):
        have = np.flatnonzero(present[i])
        if not len(have):
            continue
        if checkpoint == "last":
            j = int(have[-1])
        else:
            hits = np.flatnonzero((steps == int(checkpoint)) & present[i])
            if not len(hits):
                raise InfomorphError(f"run {run} has no checkpoint at step {int(checkpoint)}; "
                                     f"its last is {int(steps[have[-1]])}")
            j = int(hits[0])
        keep.append(i)
        index.append(j)
    if not keep:
        raise InfomorphError("no run has an analysed checkpoint")
    chosen = ds.isel(run=keep).isel(checkpoint=xr.DataArray(index, dims="run"))
    return chosen.assign_coords(step=("run", steps[index].astype(np.int64)))


def _analysed(ds: xr.Dataset) -> np.ndarray:
    """(run, checkpoint) bool: the checkpoints each run of a layer group was analysed at
    (a collection pads the others with NaN)."""
    return ds.entropy.notnull().any("neuron").transpose("run", "checkpoint").values


def common_steps(tree: xr.DataTree) -> list[int]:
    """The analysed steps every run of a ``load``-ed collection has, in every layer it has:
    the checkpoints at which all its tables can be taken (besides "last")."""
    common = None
    for node in tree.children.values():
        present = _analysed(node.ds)
        steps = node.ds.checkpoint.values
        for row in present[present.any(axis=1)]:
            have = {int(s) for s in steps[row]}
            common = have if common is None else common & have
    return sorted(common or ())


def atom_table(tree: xr.DataTree, checkpoint: str | int = "last") -> pd.DataFrame:
    """Tidy table: group, preset, goal, layer, sources (of the layer's lattice, e.g.
    "F,C,L": an atom's meaning depends on them), atom, mean_bits, sd_bits, n (runs), steps,
    ``significant_share``: the share of the neurons (over the group's runs analysed with
    shuffles) whose atom has a shuffle-null p value below ``SIGNIFICANCE``,
    ``significant_share_fdr``: the same with Benjamini-Hochberg q values over each run's
    neurons (a false discovery rate of 5 %), and ``null_mean_bits``: the layer-mean atom
    under that null (the estimation bias), mean over those runs; all NaN without shuffles."""
    from inspector.curves import group_names

    rows = []
    for layer, node in tree.children.items():
        ds = _at_checkpoint(node.ds, checkpoint)
        sources = _sources(ds, layer)
        layer_mean = ds.pid.mean("neuron", skipna=True)  # (run, atom)
        # share of the neurons whose atom beats the shuffle null (runs analysed with shuffles)
        significant = significant_share(ds.p_value) if "p_value" in ds else None
        discovered = significant_share(ds.p_value, fdr=True) if "p_value" in ds else None
        bias = ds.pid_null_mean.mean("neuron", skipna=True) if "pid_null_mean" in ds else None
        names = group_names(ds)
        keys = list(zip(names, ds.preset.values, ds.goal.values, strict=True))
        for key in dict.fromkeys(keys):
            runs = [i for i, k in enumerate(keys) if k == key]
            values = layer_mean.isel(run=runs)
            for atom in values.atom.values:
                v = values.sel(atom=atom).values.astype(float)
                finite = np.isfinite(v)
                v = v[finite]
                if not len(v):
                    continue
                rows.append(
                    {
                        "group": key[0],
                        "preset": key[1],
                        "goal": key[2],
                        "layer": layer,
                        "sources": sources[runs[0]],  # a group's runs share their lattice
                        "atom": str(atom),
                        "mean_bits": float(v.mean()),
                        "sd_bits": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                        "n": len(v),
                        "steps": ",".join(str(int(s)) for s in ds.step.values[runs]),
                        "significant_share": _mean_over(significant, runs, atom, finite),
                        "significant_share_fdr": _mean_over(discovered, runs, atom, finite),
                        "null_mean_bits": _mean_over(bias, runs, atom, finite),
                    }
                )
    return pd.DataFrame(rows)


def _mean_over(per_run: xr.DataArray | None, runs: list[int], atom, finite) -> float:
    """Mean of a (run, atom) value over a group's ``runs`` with a finite atom mean
    (``finite``) that have the value; NaN when none has (e.g. analysed without shuffles)."""
    if per_run is None:
        return float("nan")
    x = per_run.isel(run=runs).sel(atom=atom).values[finite].astype(float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else float("nan")


def class_table(tree: xr.DataTree, checkpoint: str | int = "last") -> pd.DataFrame:
    """Tidy table: group, preset, goal, layer, neuron_class, mean_share, sd_share, n (runs),
    steps. A run's share of a class is the fraction of its layer's neurons in that class
    (``inspector.atom_classes``) at the checkpoint; mean +- s.d. over the runs of a group
    (runs that differ only in their seed), every class listed, 0 where no neuron has it."""
    from inspector.atom_classes import NEURON_CLASSES, neuron_class_shares
    from inspector.curves import group_names

    rows = []
    for layer, node in tree.children.items():
        ds = _at_checkpoint(node.ds, checkpoint)
        # neurons of a run: those analysed (runs of other sizes are padded with NaN)
        real = ds.entropy.notnull().transpose("run", "neuron").values
        counts = real.sum(axis=1)
        shares = neuron_class_shares(ds.neuron_class.transpose("run", "neuron").values, real)
        keys = list(zip(group_names(ds), ds.preset.values, ds.goal.values, strict=True))
        for key in dict.fromkeys(keys):
            runs = [i for i, k in enumerate(keys) if k == key and counts[i] > 0]
            if not runs:
                continue
            for cls in NEURON_CLASSES:
                v = shares[cls][runs]
                rows.append({
                    "group": key[0], "preset": key[1], "goal": key[2], "layer": layer,
                    "neuron_class": cls, "mean_share": float(v.mean()),
                    "sd_share": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                    "n": len(v),
                    "steps": ",".join(str(int(s)) for s in ds.step.values[runs]),
                })
    return pd.DataFrame(rows)


def neuron_table(tree: xr.DataTree, checkpoint: str | int = "last") -> pd.DataFrame:
    """Tidy per-neuron table: run, preset, seed, layer, sources, step, neuron, class, atom,
    bits, and the atom's shuffle-null ``p_value`` and its Benjamini-Hochberg ``q_value`` over
    the run's neurons (NaN for runs analysed without shuffles)."""
    frames = []
    for layer, node in tree.children.items():
        ds = _at_checkpoint(node.ds, checkpoint)
        frame = ds.pid.to_dataframe(name="bits").reset_index()
        if "p_value" in ds:
            frame["p_value"] = ds.p_value.transpose(*ds.pid.dims).values.ravel()
            frame["q_value"] = q_values(ds.p_value).transpose(*ds.pid.dims).values.ravel()
        else:
            frame["p_value"] = frame["q_value"] = np.nan
        classes = ds.neuron_class.to_dataframe(name="neuron_class").reset_index()
        frame = frame.merge(classes[["run", "neuron", "neuron_class"]], on=["run", "neuron"])
        meta = pd.DataFrame(
            {
                "run": ds.run.values,
                "preset": ds.preset.values,
                "seed": ds.seed.values,
                "step": ds.step.values,
                "sources": _sources(ds, layer),
            }
        )
        frame = frame[["run", "neuron", "atom", "bits", "p_value", "q_value",
                       "neuron_class"]].merge(meta, on="run")
        frame.insert(1, "layer", layer)
        frames.append(frame.dropna(subset=["bits"]))
    return pd.concat(frames, ignore_index=True)[
        ["run", "preset", "seed", "layer", "sources", "step", "neuron", "neuron_class", "atom",
         "bits", "p_value", "q_value"]
    ]


def _sources(ds: xr.Dataset, layer: str) -> list[str]:
    """Per run, the sources of its ``layer`` as "F,C,L" (the layer's source coordinate for
    runs whose analysis does not record them)."""
    fallback = ",".join(map(str, ds.source.values)) if "source" in ds.coords else ""
    return [",".join(a[layer]["sources"]) if a.get(layer, {}).get("sources") else fallback
            for a in json_coordinate(ds, "analysis")]


def layer_atoms_at(ds: xr.Dataset, step: int) -> pd.DataFrame:
    """One run's layer at one checkpoint (an analysis group: dims checkpoint, neuron,
    atom), one row per atom: class, mean, median and quartiles over the neurons (bits), and
    for analyses with shuffles the share of neurons beating the null (p < ``SIGNIFICANCE``;
    ``_fdr``: Benjamini-Hochberg q < ``SIGNIFICANCE`` over the neurons) and the layer-mean
    atom under the null (the bias, bits)."""
    from inspector.atom_classes import atom_classes

    if step not in ds.checkpoint.values:
        raise InfomorphError(f"no analysed checkpoint at step {step}")
    one = ds.sel(checkpoint=step)
    pid = one.pid.transpose("neuron", "atom").values
    table = pd.DataFrame({
        "atom": [str(a) for a in ds.atom.values],
        "class": atom_classes(len(ds.source)),
        "mean_bits": pid.mean(axis=0),
        "q25_bits": np.quantile(pid, 0.25, axis=0),
        "median_bits": np.median(pid, axis=0),
        "q75_bits": np.quantile(pid, 0.75, axis=0),
    })
    if "p_value" in one:
        table["significant_share"] = significant_share(one.p_value).values
        table["significant_share_fdr"] = significant_share(one.p_value, fdr=True).values
    if "pid_null_mean" in one:
        table["null_mean_bits"] = one.pid_null_mean.mean("neuron").values
    return table


def provenance(tree: xr.DataTree, checkpoint) -> dict:
    """Where a table comes from. ``layers``: each layer's binning, bins, probe samples and
    target; a list of the values where the runs were analysed differently."""
    root = tree.ds
    analyses = json_coordinate(root, "analysis")
    layers = {}
    for name, node in tree.children.items():
        layers[name] = {}
        for k in ("binning", "bins", "n_samples", "target"):
            values = list(dict.fromkeys(a[name][k] for a in analyses if name in a))
            layers[name][k] = (node.attrs.get(k) if not values
                               else values[0] if len(values) == 1 else values)
    return {
        "generator": f"infomorph {__version__}",
        "date": date.today().isoformat(),
        "units": "bits",
        "measure": "I_sx (Makkeh, Gutknecht & Wibral 2021)",
        "checkpoint": str(checkpoint),
        "runs": [str(r) for r in root.run.values],
        "layers": layers,
    }


def _plain(value):
    """numpy scalars and arrays as JSON values."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _latex_atom(label: str) -> str:
    return "$\\Pi_{" + label.replace("{", "\\{").replace("}", "\\}") + "}$"


def _is_class_table(table: pd.DataFrame) -> bool:
    return "neuron_class" in table


def _blocks(table: pd.DataFrame, fmt) -> list[tuple[str, list[str], list[list[str]]]]:
    """Wide tables: one row per (group, layer), one column per atom (or neuron class); one
    block per lattice (sources), since an atom's meaning depends on them. Each block is
    (its sources, "" for class tables; header; rows)."""
    if _is_class_table(table):
        key, mean, sd = "neuron_class", "mean_share", "sd_share"
        parts = [("", table)]
    else:
        key, mean, sd = "atom", "mean_bits", "sd_bits"
        parts = list(table.groupby("sources", sort=False))
    blocks = []
    for sources, part in parts:
        # every run's atoms in their lattice order (collection.merged_order)
        columns = list(dict.fromkeys(part[key])) if _is_class_table(table) else merged_order(
            group[key] for _, group in part.groupby(["group", "layer"], sort=False))
        header = ["preset", "layer", "n", *columns]  # the preset column holds the group label
        body = []
        for (group_name, layer), group in part.groupby(["group", "layer"], sort=False):
            cells = {getattr(r, key): fmt(getattr(r, mean), getattr(r, sd))
                     for r in group.itertuples()}
            body.append([str(group_name), str(layer), str(int(group.n.max())),
                         *[cells.get(c, "") for c in columns]])
        blocks.append((str(sources).replace(",", ", "), header, body))
    return blocks


def _fixed(x: float) -> str:
    """Three decimals; a value that rounds to zero is 0.000, not -0.000."""
    text = f"{x:.3f}"
    return "0.000" if text == "-0.000" else text


def _what(table: pd.DataFrame, meta: dict) -> str:
    """What the cells of a wide table are, for its caption."""
    if _is_class_table(table):
        return (f"Share of each layer's neurons in each class ({CLASS_RULE}), mean ± s.d. "
                f"over runs, at checkpoint {meta['checkpoint']}; {meta['measure']}")
    return (f"Mean ± s.d. over runs of the layer-mean atom, in bits, at checkpoint "
            f"{meta['checkpoint']}; {meta['measure']}")


def to_markdown(table: pd.DataFrame, meta: dict) -> str:
    def fmt(m, s):
        return _fixed(m) + ("" if np.isnan(s) else f" ± {_fixed(s)}")

    blocks = _blocks(table, fmt)
    lines = []
    for sources, header, body in blocks:
        if len(blocks) > 1:
            lines += [f"Layers with sources {sources}:", ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        lines.append("")
    lines.append(_what(table, meta) + "." + _other_steps(table))
    return "\n".join(lines) + "\n"


def to_latex(table: pd.DataFrame, meta: dict) -> str:
    def fmt(m, s):
        return f"${_fixed(m)}$" if np.isnan(s) else f"${_fixed(m)} \\pm {_fixed(s)}$"

    blocks = _blocks(table, fmt)
    width = max(len(header) - 3 for _, header, _ in blocks)
    if _is_class_table(table):
        what = (f"Share of each layer's neurons in each class ({CLASS_RULE}; "
                "I$^{\\mathrm{sx}}$ atoms): mean $\\pm$ s.d. over $n$ runs at checkpoint "
                f"{meta['checkpoint']}")
    else:
        what = ("I$^{\\mathrm{sx}}$ atoms (bits): mean $\\pm$ s.d. over $n$ runs of the "
                f"layer-mean atom at checkpoint {meta['checkpoint']}")
    samples = sorted({str(v["n_samples"]) for v in meta["layers"].values()})
    bins = sorted({str(v["bins"]) for v in meta["layers"].values()})
    lines = [
        "% generated by "
        + meta["generator"]
        + " on "
        + meta["date"]
        + "; needs \\usepackage{booktabs}",
        "\\begin{table}",
        "\\centering",
        "\\begin{tabular}{ll r" + "r" * width + "}",
        "\\toprule",
    ]
    for i, (sources, header, body) in enumerate(blocks):
        titles = (header[3:] if _is_class_table(table)
                  else [_latex_atom(a) for a in header[3:]])
        if len(blocks) > 1:  # one header per lattice: an atom means other things in each
            lines += [*(["\\midrule"] if i else []),
                      f"\\multicolumn{{{width + 3}}}{{l}}{{Sources {_latex_text(sources)}}} "
                      "\\\\"]
        lines += ["Preset & Layer & $n$ & " + " & ".join(titles) + " \\\\", "\\midrule"]
        for row in body:
            lines.append(" & ".join([*map(_latex_text, row[:3]), *row[3:]]) + " \\\\")
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{{what}; probe samples {', '.join(samples)}, bins per source "
        f"{', '.join(bins)}.{_latex_text(_other_steps(table))}}}",
        "\\end{table}",
    ]
    text = "\n".join(lines) + "\n"
    return text.encode("ascii", "replace").decode("ascii")


_LATEX_SPECIALS = {"\\": "\\textbackslash{}", "{": "\\{", "}": "\\}", "_": "\\_",
                   "&": "\\&", "%": "\\%", "#": "\\#", "$": "\\$",
                   "^": "\\textasciicircum{}", "~": "\\textasciitilde{}"}


def _latex_text(text: str) -> str:
    """Plain text for LaTeX: group labels hold goals such as "{F}{C} - 0.5 {FC}"."""
    return "".join(_LATEX_SPECIALS.get(c, c) for c in text)


def _other_steps(table: pd.DataFrame) -> str:
    """A note on the groups whose runs were taken at different steps ("" when none): their
    mean pools other stages of training."""
    mixed = {}
    for row in table.itertuples():
        steps = sorted({int(x) for x in str(row.steps).split(",")})
        if len(steps) > 1:
            mixed.setdefault(row.group, steps)
    if not mixed:
        return ""
    return " Runs taken at different steps: " + "; ".join(
        f"{g} ({', '.join(map(str, s))})" for g, s in mixed.items()) + "."


def to_csv(table: pd.DataFrame, meta: dict) -> str:
    out = io.StringIO()
    for key, value in meta.items():
        out.write(f"# {key}: {json.dumps(value, default=_plain)}\n")
    table.to_csv(out, index=False)
    return out.getvalue()


def write_table(table: pd.DataFrame, meta: dict, fmt: str, path: str | os.PathLike | None):
    """Write ``table`` in ``fmt`` to ``path`` atomically, or return the text (path None)."""
    if fmt not in TABLE_FORMATS:
        raise InfomorphError(f"Unknown format {fmt!r}; choose one of: {', '.join(TABLE_FORMATS)}.")
    if fmt == "parquet":
        if path is None:
            raise InfomorphError("parquet is binary: name a file with --output FILE.parquet")
        out = table.copy()
        out.attrs["provenance"] = json.dumps(meta, default=_plain)
        return _atomic(Path(path), lambda tmp: out.to_parquet(tmp, index=False))
    text = {"csv": to_csv, "markdown": to_markdown, "latex": to_latex}[fmt](table, meta)
    if path is None:
        return text
    return _atomic(Path(path), lambda tmp: tmp.write_text(text))


def _atomic(path: Path, write) -> Path:
    if path.is_dir():
        raise InfomorphError(f"{path} is a directory; name an output file")
    if not path.parent.exists():
        raise InfomorphError(f"output directory {path.parent} does not exist")
    if path.is_file() and is_hdf5(path):
        raise InfomorphError(f"{path} holds HDF5 data (a run or an analysis?); a table never "
                             "replaces it: name another output file")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
