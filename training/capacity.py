"""Capacity sweep of the associative memory: ``python -m training.capacity``.

Stores round(load * N) random patterns with the ``memory`` preset (Pi{E}{I} goal) and with
the Hebbian baseline at each load, and prints per load (means over seeds) both measures of
recall: the mean cosine similarity of the fixed point reached from each pattern (paper (c)'s)
and the share recalled from noisy cues; then each rule's capacity under each measure
(patterns per neuron at which it falls below 0.95, resp. 90 %). See ``training/memory.py``
for the definitions.
"""

from __future__ import annotations

import argparse
import sys

from inspector.errors import InfomorphError
from training.memory import CAPACITY_LEVELS, RULES, MemoryTask, capacity_curve, capacity_text

DEFAULT_LOADS = {
    "memory": (0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8),
    "memory-hebbian": (0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.25, 0.3),
}


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas: {text!r}") from None
    if not values or min(values) <= 0 or list(values) != sorted(values):
        raise argparse.ArgumentTypeError("loads must be positive and increasing")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.capacity",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=",".join(RULES), help="memory,memory-hebbian")
    parser.add_argument("--loads", type=_floats, default=None,
                        help="comma-separated loads P/N (default: a grid per rule)")
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--cue-noise", type=float, default=0.05)
    parser.add_argument("--train-noise", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        if args.seeds < 1:
            raise InfomorphError(f"--seeds must be >= 1, got {args.seeds}")
        rules = args.rules.split(",")
        unknown = [r for r in rules if r not in RULES]
        if unknown:
            raise InfomorphError(f"unknown rule {unknown[0]!r}; choose from {', '.join(RULES)}")
        task = MemoryTask(neurons=args.neurons, cue_noise=args.cue_noise,
                          train_noise=args.train_noise, epochs=args.epochs)
        print(f"N = {args.neurons}, {args.epochs} epochs, means over {args.seeds} seeds; "
              "cosine: mean cosine similarity of the fixed point reached from each pattern; "
              f"recalled: share of cues with {args.cue_noise:.0%} of the bits flipped whose "
              "fixed point has cosine >= 0.95\n")
        print("| rule | load P/N | patterns | cosine | recalled |\n|---|---|---|---|---|")
        found = {}
        for rule in rules:
            curve = capacity_curve(rule, args.loads or DEFAULT_LOADS[rule], task,
                                   seeds=range(args.seeds))
            for row in curve.itertuples():
                print(f"| {rule} | {row.load:g} | {row.patterns} | {row.recall_cosine:.3f} "
                      f"| {row.recalled:.3f} |")
            found[rule] = {m: capacity_text(curve, m) for m in CAPACITY_LEVELS}
        print()
        for rule, values in found.items():
            print(f"capacity of {rule}: {values['recall_cosine']} patterns per neuron "
                  f"(cosine >= {CAPACITY_LEVELS['recall_cosine']}, paper (c)'s measure), "
                  f"{values['recalled']} (>= {CAPACITY_LEVELS['recalled']:.0%} recalled "
                  "from noisy cues)")
    except InfomorphError as err:
        print(f"capacity: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
