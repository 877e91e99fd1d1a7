"""``infomorph export LOGDIR|RUN... --format ...``: atom tables for papers."""

from __future__ import annotations

import sys
from pathlib import Path

from inspector.errors import InfomorphError


def register(sub) -> None:
    from inspector.export import TABLE_FORMATS

    p = sub.add_parser(
        "export",
        help="atom tables of analysed runs (csv, parquet, markdown, latex)",
        description="Mean +- s.d. over seeds of each layer's mean atoms per "
        "preset and goal, or with --neurons every neuron's atoms.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="LOGDIR|RUN")
    p.add_argument("--format", required=True, choices=TABLE_FORMATS)
    p.add_argument("--checkpoint", default="last", help="a training step, or last (default)")
    p.add_argument("--neurons", action="store_true", help="per-neuron table")
    p.add_argument("--output", "-o", type=Path, default=None, help="file (default: stdout)")
    p.set_defaults(run=run)


def run(args) -> int:
    from inspector.collection import load
    from inspector.export import atom_table, neuron_table, provenance, write_table

    checkpoint = args.checkpoint
    if checkpoint != "last":
        try:
            checkpoint = int(checkpoint)
        except ValueError:
            raise InfomorphError(
                f"--checkpoint takes a step or 'last', got {checkpoint!r}"
            ) from None
    tree = load(*args.paths)
    table = neuron_table(tree, checkpoint) if args.neurons else atom_table(tree, checkpoint)
    if args.neurons and args.format in ("markdown", "latex"):
        raise InfomorphError("--neurons tables are long: export them as csv or parquet")
    result = write_table(table, provenance(tree, checkpoint), args.format, args.output)
    if args.output is None:
        sys.stdout.write(result)
    else:
        print(f"wrote {result}", file=sys.stderr)
    return 0
