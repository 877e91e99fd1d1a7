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
    p.add_argument("--atom", default=None, help="heatmap atom (default: the largest)")
    p.add_argument("--output", "-o", type=Path, default=None,
                   help="table file (default: stdout) or figure directory")
    p.set_defaults(run=run)


def run(args) -> int:
    from inspector.collection import load
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
    if args.neurons and args.format in ("markdown", "latex"):
        raise InfomorphError("--neurons tables are long: export them as csv or parquet")
    tree = load(*args.paths)
    build = neuron_table if args.neurons else class_table if args.classes else atom_table
    table = build(tree, checkpoint)
    result = write_table(table, provenance(tree, checkpoint), args.format, args.output)
    if args.output is None:
        sys.stdout.write(result)
    else:
        print(f"wrote {result}", file=sys.stderr)
    return 0


def _figures(args, checkpoint) -> int:
    from inspector.charts import (
        atom_composition,
        atom_heatmap,
        class_shares,
        class_simplex,
        class_timeline,
        largest_atom,
        save_chart,
    )
    from inspector.collection import analysed_runs, load
    from inspector.curves import compared_metrics, metric_frame, seed_bands
    from inspector.export import class_table
    from storage import open_analysis

    runs = analysed_runs(args.paths)
    if not runs:
        raise InfomorphError(f"no analysed runs below {', '.join(map(str, args.paths))}; "
                             "run `infomorph analyze` first")
    out = args.output or Path("figures")
    if out.exists() and not out.is_dir():
        raise InfomorphError(f"{out} is a file; figures need an output directory")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for run_dir in runs:
        tree = open_analysis(run_dir)
        for layer, node in tree.children.items():
            ds = node.ds
            step = None if checkpoint == "last" else checkpoint
            atom = args.atom or largest_atom(ds)
            charts = {"composition": atom_composition(ds), "simplex": class_simplex(ds, step),
                      "heatmap": atom_heatmap(ds, atom), "classes": class_timeline(ds)}
            for name, chart in charts.items():
                save_chart(chart, out / f"{run_dir.name}-{layer}-{name}.{args.format}")
                written += 1
    # Across runs: each layer's neuron classes per group of runs (seeds averaged), and the
    # task metrics over training as mean +- s.d. bands per group.
    collection = load(*args.paths)
    classes = class_table(collection, checkpoint)
    for layer in dict.fromkeys(classes.layer):
        save_chart(class_shares(classes, layer), out / f"classes-{layer}.{args.format}")
        written += 1
    root = collection.ds
    for metric in compared_metrics(root):
        save_chart(seed_bands(metric_frame(root, metric), "value", title=metric,
                              y_title=metric), out / f"{metric}.{args.format}")
        written += 1
    print(f"wrote {written} figures to {out}", file=sys.stderr)
    return 0
