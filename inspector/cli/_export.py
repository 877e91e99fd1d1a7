"""``infomorph export LOGDIR|RUN... --format ...``: atom tables for papers."""

from __future__ import annotations

import sys
from pathlib import Path

from inspector.errors import InfomorphError

FIGURE_FORMATS = ("svg", "png", "pdf")


def register(sub) -> None:
    from inspector.export import TABLE_FORMATS

    p = sub.add_parser(
        "export",
        help="atom tables (csv, parquet, markdown, latex) and figures (svg, png, pdf)",
        description="Tables: mean +- s.d. over seeds of each layer's mean atoms per group of "
        "runs that differ only in their seed (preset, goal, settings); with --classes the "
        "share of each layer's neurons per class (unique, redundant, synergistic, mixed, "
        "none); with --neurons every neuron's atoms. Figures: for every analysed run and "
        "layer, the atom composition over training, the unique/redundant/synergistic simplex, "
        "a neuron x checkpoint heatmap and the neuron classes over training; across runs, "
        "per layer the neuron classes of every group of runs, and test accuracy (or recall) "
        "over training per group; written into --output DIR (default: figures).",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="LOGDIR|RUN")
    p.add_argument("--format", required=True, choices=(*TABLE_FORMATS, *FIGURE_FORMATS))
    p.add_argument("--checkpoint", default="last", help="a training step, or last (default)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--neurons", action="store_true", help="per-neuron table")
    kind.add_argument("--classes", action="store_true",
                      help="share of neurons per class, per group of runs")
    p.add_argument("--atom", action="append", default=None,
                   help="tables: keep only this atom's rows (repeatable); figures: the "
                   "heatmap's atom (default: each layer's largest)")
    p.add_argument("--neuron", action="append", type=int, default=None, metavar="N",
                   help="figures: also neuron N of every run and layer that has it "
                   "(repeatable): its atoms over training, its goal terms and what it sees "
                   "at the checkpoint (its binned inputs, coloured by P(Y=+1))")
    p.add_argument("--significant-only", action="store_true",
                   help="figures: the heatmap shows only cells whose atom beats the shuffle "
                   "null at a 5 %% false discovery rate (runs analysed with --shuffles)")
    p.add_argument("--output", "-o", type=Path, default=None,
                   help="table file (default: stdout) or figure directory")
    p.set_defaults(run=run)


def run(args) -> int:
    from inspector.collection import TABLE_VARIABLES, load
    from inspector.export import (
        atom_table,
        class_table,
        neuron_table,
        provenance,
        write_table,
    )

    checkpoint = args.checkpoint
    if checkpoint != "last":
        try:
            checkpoint = int(checkpoint)
        except ValueError:
            raise InfomorphError(
                f"--checkpoint takes a step or 'last', got {checkpoint!r}"
            ) from None
    if args.format in FIGURE_FORMATS:
        if args.neurons or args.classes:
            raise InfomorphError(f"--neurons and --classes choose a table; {args.format} "
                                 "writes figures")
        return _figures(args, checkpoint)
    if args.neuron:
        raise InfomorphError("--neuron N draws a neuron's figures: choose svg, png or pdf "
                             "(--neurons gives every neuron's atoms as a table)")
    if args.significant_only:
        raise InfomorphError("--significant-only shapes the heatmap figure: choose svg, png or "
                             "pdf (atom tables give significant_share and its _fdr column)")
    if args.neurons and args.format in ("markdown", "latex"):
        raise InfomorphError("--neurons tables are long: export them as csv or parquet")
    if args.classes and args.atom:
        raise InfomorphError("--atom chooses atoms of atom tables; --classes tables have none")
    _warn(args.paths)
    tree = load(*args.paths, variables=TABLE_VARIABLES)
    _check_atoms(tree, args.atom)
    build = neuron_table if args.neurons else class_table if args.classes else atom_table
    table = build(tree, checkpoint)
    if args.atom:
        table = table[table.atom.isin(args.atom)].reset_index(drop=True)
    result = write_table(table, provenance(tree, checkpoint), args.format, args.output)
    if args.output is None:
        sys.stdout.write(result)
    else:
        print(f"wrote {result}", file=sys.stderr)
    return 0


def _figures(args, checkpoint) -> int:
    from inspector.charts import (
        class_shares,
        estimates_text,
        layer_figure,
        layer_figure_names,
        save_chart,
    )
    from inspector.collection import TABLE_VARIABLES, analysed_runs, load, run_names
    from inspector.curves import compared_metrics, metric_frame, seed_bands
    from inspector.export import class_table
    from storage import open_analysis

    if args.atom and len(args.atom) > 1:
        raise InfomorphError("figures take one --atom (the heatmap's)")
    _warn(args.paths)
    # Everything is read and checked before the first figure is written.
    collection = load(*args.paths, variables=TABLE_VARIABLES)
    _check_atoms(collection, args.atom)
    _check_neurons(collection, args.neuron)
    if args.significant_only:
        _check_shuffles(collection)
    classes = class_table(collection, checkpoint)  # also: every run has the checkpoint
    runs = analysed_runs(args.paths)
    out = args.output or Path("figures")
    if out.exists() and not out.is_dir():
        raise InfomorphError(f"{out} is a file; figures need an output directory")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    # file names from the collection's run names: two runs called "a" in other directories
    # wrote the same files
    for run_dir, run_name in zip(runs, run_names(runs), strict=True):
        prefix = run_name.replace("/", "-").replace("\\", "-").lstrip(".-")
        tree = open_analysis(run_dir)
        for layer, node in tree.children.items():
            ds = node.ds
            step = None if checkpoint == "last" else checkpoint
            atom = args.atom[0] if args.atom else None
            # a layer of other sources lacks a chosen atom: no heatmap for it
            charts = {name: layer_figure(ds, name, step, atom, args.significant_only)
                      for name in layer_figure_names(ds)
                      if name != "heatmap" or atom is None or atom in ds.atom.values}
            for neuron in args.neuron or ():
                if neuron < ds.sizes["neuron"]:
                    charts.update(_neuron_charts(run_dir, ds, neuron, checkpoint))
            for name, chart in charts.items():
                save_chart(chart, out / f"{prefix}-{layer}-{name}.{args.format}")
                written += 1
    # Across runs: each layer's neuron classes per group of runs (seeds averaged), and the
    # task metrics over training as mean +- s.d. bands per group.
    for layer in dict.fromkeys(classes.layer):
        save_chart(class_shares(classes, layer, estimates_text(collection[layer].ds, layer)),
                   out / f"classes-{layer}.{args.format}")
        written += 1
    root = collection.ds
    for metric in compared_metrics(root):
        save_chart(seed_bands(metric_frame(root, metric), "value", title=metric,
                              y_title=metric), out / f"{metric}.{args.format}")
        written += 1
    print(f"wrote {written} figures to {out}", file=sys.stderr)
    return 0


def _check_shuffles(tree) -> None:
    """Every run was analysed with a shuffle null (p values to test against)."""
    for node in tree.children.values():
        ds = node.ds
        # runs without this layer are padded with NaN: only those with it must be tested
        present = ds.entropy.notnull().any([d for d in ds.entropy.dims if d != "run"]).values
        tested = (ds.p_value.notnull().any([d for d in ds.p_value.dims if d != "run"]).values
                  if "p_value" in ds else ~present)
        missing = list(ds.run.values[present & ~tested])
        if missing:
            raise InfomorphError(f"--significant-only needs runs analysed with --shuffles; "
                                 f"{missing[0]} was not (infomorph analyze RUN --shuffles 100 "
                                 "--force)")


def _check_atoms(tree, atoms: list[str] | None) -> None:
    """Every chosen atom belongs to the lattice of at least one layer."""
    known = list(dict.fromkeys(str(a) for node in tree.children.values()
                               for a in node.ds.atom.values))
    unknown = [a for a in atoms or () if a not in known]
    if unknown:
        raise InfomorphError(f"Unknown atom {unknown[0]!r}; choose one of: {', '.join(known)}.")


def _warn(paths) -> None:
    """Tell on stderr which analyses no longer match their run (they are exported as they
    are: an analysis holds everything a table or figure needs)."""
    from inspector.collection import analysed_runs
    from inspector.logdir import analysis_state
    from storage import open_run

    for run_dir in analysed_runs(paths):
        try:
            state = analysis_state(open_run(run_dir))
        except InfomorphError as err:
            print(f"warning: {err}; its analysis is exported as it was written",
                  file=sys.stderr)
            continue
        if state == "stale":
            print(f"warning: {run_dir} has changed since it was analysed; run `infomorph "
                  f"analyze {run_dir}` to include its new checkpoints", file=sys.stderr)


def _check_neurons(tree, neurons: list[int] | None) -> None:
    """Every chosen neuron exists in at least one layer of one run."""
    largest = max(node.ds.sizes["neuron"] for node in tree.children.values())
    for n in neurons or ():
        if not 0 <= n < largest:
            raise InfomorphError(f"no layer has a neuron {n}; the largest has 0..{largest - 1}")


def _neuron_charts(run_dir: Path, ds, neuron: int, checkpoint) -> dict:
    """One neuron's figures (``neuron_charts.neuron_figures``) named for the files; without
    a readable run.h5, no input maps (and a warning)."""
    from inspector.neuron_charts import neuron_figures
    from storage import open_run

    step = int(ds.checkpoint[-1]) if checkpoint == "last" else int(checkpoint)
    try:
        probe = open_run(run_dir).neuron(ds.attrs["layer"], neuron)
    except InfomorphError as err:
        print(f"warning: {run_dir}: no input maps of neuron {neuron}: {err}", file=sys.stderr)
        probe = None
    return {f"neuron{neuron}-{name}": chart
            for name, chart in neuron_figures(ds, neuron, step, probe).items()}
