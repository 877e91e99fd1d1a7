"""Loading many analysed runs for the tables across runs (export, the Compare page): every
layer variable against the table variables alone (``collection.TABLE_VARIABLES``).

Run:  .venv/bin/python bench/collection_load.py [--runs 8] [--neurons 1000] [--checkpoints 100]

Builds one synthetic run (analysis_throughput.make_run, 256 probe samples), analyses it and
copies it ``--runs`` times (copies keep their analysis up to date). Baseline in the same run:
``load`` of every variable, as before the table variables existed. Both sides are timed in
turns (``interleaved_medians``), each followed by the atom and class tables, and must give
the same tables.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from _timing import interleaved_medians, machine, run_script, write_json
from analysis_throughput import make_run

from inspector.allocator import keep_freed_memory
from inspector.cli import main as cli
from inspector.collection import TABLE_VARIABLES, load
from inspector.export import atom_table, class_table


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, default=100)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    try:
        make_run(root / "r0", args.neurons, args.checkpoints, 256, 0)
        assert cli(["analyze", str(root / "r0"), "--quiet"]) == 0
        for i in range(1, args.runs):
            shutil.copytree(root / "r0", root / f"r{i}")

        def tables(variables):
            tree = load(root, variables=variables)
            return atom_table(tree), class_table(tree)

        for whole, part in zip(tables(None), tables(TABLE_VARIABLES), strict=True):
            pd.testing.assert_frame_equal(whole, part)
        t = interleaved_medians({"all": lambda: tables(None),
                                 "table": lambda: tables(TABLE_VARIABLES)},
                                rounds=3, per_round=1, settle=0)
    finally:
        shutil.rmtree(root)
    print(f"# load + atom and class tables: {args.runs} runs of {args.neurons} trivariate "
          f"neurons x {args.checkpoints} checkpoints")
    print(f"# {machine()}")
    print(f"every layer variable (baseline)  {t['all']:6.2f} s")
    print(f"table variables only             {t['table']:6.2f} s  "
          f"({t['all'] / t['table']:.1f}x faster)")
    write_json(args.json, "collection_load", [{"all_s": t["all"], "table_s": t["table"]}])


if __name__ == "__main__":
    run_script(main)
