"""``infomorph pid FILE.csv``: the I^sx decomposition of a distribution written as a table."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from inspector.errors import InfomorphError
from inspector.pid import MAX_SOURCES


def register(sub) -> None:
    p = sub.add_parser(
        "pid",
        help="decompose a distribution given as CSV (one column per source, a target, a weight)",
        description="I^sx decomposition of a discrete distribution. Each row is a realisation: "
        "one column per source (numbered 1..n in column order), a target column and a "
        "probability or count column (counts are normalised; repeated realisations add up).",
    )
    p.add_argument("file", type=Path, help="CSV file with a header row (comma, tab or "
                   "semicolon separated; - reads standard input)")
    p.add_argument("--target", default="t", metavar="COL", help="target column (default: t)")
    p.add_argument("--weight", default=None, metavar="COL",
                   help="probability or count column (default: p)")
    p.add_argument("--samples", action="store_true",
                   help="no weight column: each row is one observation")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--pointwise", action="store_true",
                   help="also give the atoms of every realisation")
    p.add_argument("--shuffles", type=int, default=0, metavar="K",
                   help="with --samples: a shuffle null of K permutations of the target over "
                        "the observations (p value and mean under the null of every atom)")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffles (default: 0)")
    p.add_argument("--bins", type=int, default=None, metavar="N",
                   help="with --samples: bin numeric source columns into N bins each (the "
                        "target stays as it is) instead of taking every value as a category")
    p.add_argument("--binning", default=None, choices=("quantile", "maxnorm", "fixed"),
                   help="how --bins bins: equal-frequency per source (default), N equal bins "
                        "of [-1, 1] after dividing by the source's max |x|, or N equal bins "
                        "of --range")
    p.add_argument("--range", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="the range of --binning fixed (values outside go to the edge bins)")
    p.set_defaults(run=run)


class Distribution(NamedTuple):
    """A CSV's distribution: the joint ``table`` (|S_1|, ..., |S_n|, |T|) of weights, the
    source column names, each source's and the target's sorted values, and ``codes``
    (row, n + 1): every row's value index per source and the target (last)."""

    table: np.ndarray
    sources: list[str]
    source_values: list[list]
    target_values: list
    codes: np.ndarray


def read_distribution(path: Path, target: str, weight: str | None, samples: bool,
                      binning=None) -> Distribution:
    """A CSV file's distribution, validated (one-line errors naming the line or column).
    ``binning`` (an ``inspector.pid.Binning``, observations only): numeric source columns
    are binned with it, each source's values being its bins' labels."""
    try:
        if str(path) == "-":  # a pipe: infomorph pid - < table.csv
            path = Path("<stdin>")
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        elif not path.exists():
            raise InfomorphError(f"no such file: {path}")
        elif path.is_dir():
            raise InfomorphError(f"{path} is a directory, not a CSV file")
        else:
            text = path.read_bytes().decode("utf-8-sig")
        delimiter = _delimiter(text)
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                               skipinitialspace=True))
    except UnicodeDecodeError:
        raise InfomorphError(f"{path} is not a readable CSV file: not UTF-8 text") from None
    except csv.Error as err:
        raise InfomorphError(f"{path} is not a readable CSV file: {err}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InfomorphError(f"{path} is empty; expected a CSV with a header row")
    columns = [c.strip() for c in rows[0]]
    if len(set(columns)) != len(columns) or "" in columns:
        raise InfomorphError(
            f"{path} needs distinct, non-empty column names, got: {', '.join(columns)}"
        )
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(columns):
            raise InfomorphError(
                f"{path} is not a readable CSV file: line {line} has {len(row)} fields, "
                f"the header has {len(columns)}"
            )
    frame = pd.DataFrame(rows[1:], columns=columns, dtype=str)
    if delimiter == ";":  # such files write decimals with a comma: 0,25
        frame = frame.apply(lambda c: c.str.replace(r"^(\s*[-+]?\d*),(\d+\s*)$", r"\1.\2",
                                                    regex=True))
    if target not in columns:
        raise InfomorphError(
            f"unknown target column '{target}'; columns are: {', '.join(columns)}"
        )
    if samples and weight is not None:
        raise InfomorphError("--samples and --weight exclude each other")
    if not samples:
        name = weight or "p"
        if name not in columns:
            if weight is None:
                raise InfomorphError(
                    f"no weight column 'p' in {path}; name one with --weight COL, or pass "
                    "--samples to count each row once"
                )
            raise InfomorphError(
                f"unknown weight column '{name}'; columns are: {', '.join(columns)}"
            )
        weight = name
    sources = [c for c in columns if c not in (target, weight)]
    if not sources:
        raise InfomorphError(f"{path} has no source columns besides '{target}'")
    if len(sources) > MAX_SOURCES:
        raise InfomorphError(
            f"at most {MAX_SOURCES} sources are supported, got {len(sources)} "
            f"({', '.join(sources)})"
        )
    if frame.empty:
        raise InfomorphError(f"{path} has a header but no rows")
    for col in (*sources, target):
        blank = frame[col].str.strip() == ""
        if blank.any():
            row = int(np.flatnonzero(blank.to_numpy())[0]) + 2
            raise InfomorphError(f"column '{col}' has an empty value (line {row})")
    if samples:
        weights = np.ones(len(frame))
    else:
        numeric = pd.to_numeric(frame[weight].str.strip(), errors="coerce")
        bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InfomorphError(
                f"weight column '{weight}' must be numeric: line {i + 2} holds "
                f"{frame[weight].iloc[i]!r}"
            )
        weights = numeric.to_numpy(dtype=float)
        if (weights < 0).any():
            i = int(np.flatnonzero(weights < 0)[0])
            raise InfomorphError(
                f"weight column '{weight}' must be >= 0: line {i + 2} holds {weights[i]:g}"
            )
        if weights.sum() <= 0:
            raise InfomorphError(f"weight column '{weight}' is all zero")
    codes, values = [], []
    if binning is not None:
        binned = _binned(frame[sources], binning)
        codes += list(binned.T)
        values += [binning.labels()] * len(sources)
    for col in ([target] if binning is not None else [*sources, target]):
        code, uniques = _factorize(frame[col])
        codes.append(code)
        values.append(uniques)
    table = np.zeros([len(v) for v in values])
    np.add.at(table, tuple(codes), weights)
    return Distribution(table, sources, values[:-1], values[-1], np.stack(codes, -1))


def _delimiter(text: str) -> str:
    """The header line's separator: a comma, or a tab or semicolon where the header has no
    comma (tab-separated exports, spreadsheets of comma-decimal locales)."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    return next((d for d in ("\t", ";") if d in header), ",")


def _binned(frame: pd.DataFrame, binning) -> np.ndarray:
    """Bin indices (row, source) of numeric source columns."""
    import torch

    numeric = frame.apply(lambda c: pd.to_numeric(c.str.strip(), errors="coerce"))
    for col in frame.columns:
        bad = numeric[col].isna() | ~np.isfinite(numeric[col].to_numpy(dtype=float,
                                                                       na_value=np.nan))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InfomorphError(f"column '{col}' must hold finite numbers to be binned: line "
                                 f"{i + 2} holds {frame[col].iloc[i]!r}")
    values = torch.tensor(numeric.to_numpy(dtype=np.float64))  # a copy: binning works in place
    return binning.codes(values).numpy()


def _factorize(column: pd.Series):
    """Codes and sorted unique values; numeric columns keep numeric order and type."""
    text = column.str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if not numeric.isna().any():
        as_int = numeric.astype("int64") if (numeric == numeric.round()).all() else numeric
        codes, uniques = pd.factorize(as_int, sort=True)
    else:
        codes, uniques = pd.factorize(text, sort=True)
    return codes, [u.item() if hasattr(u, "item") else u for u in uniques]


def _fmt(x: float) -> str:
    return f"{_clean(x): .9f}"


def _number(x) -> float:
    """A float for JSON; -0.0 (a zero entropy computed as -sum 0) becomes 0.0."""
    return float(x) + 0.0


def _clean(x: float) -> float:
    # Round-off below the printed precision would show as "-0.000000000".
    return 0.0 if abs(x) < 5e-10 else x


def run(args) -> int:
    if args.shuffles < 0:
        raise InfomorphError(f"--shuffles must be >= 0, got {args.shuffles}")
    if args.shuffles and not args.samples:
        raise InfomorphError("--shuffles needs --samples: the null permutes the target over "
                             "observations, and a table of probabilities has none")
    binning = _binning(args)
    table, sources, source_values, target_values, codes = read_distribution(
        args.file, args.target, args.weight, args.samples, binning
    )
    # the engine (torch) is imported here: every other verb starts without it
    from inspector.pid import MEASURE, decompose_dataset

    n = len(sources)
    ds = decompose_dataset(table, n, pointwise=False)
    labels = [str(a) for a in ds.atom.values]
    result = {
        "sources": sources,
        "target": args.target,
        "units": "bits",
        "measure": MEASURE,
        "atoms": dict(zip(labels, map(_number, ds.pid.values), strict=True)),
        "informative": dict(zip(labels, map(_number, ds.pid_informative.values), strict=True)),
        "misinformative": dict(
            zip(labels, map(_number, ds.pid_misinformative.values), strict=True)
        ),
        "mutual_information": _number(ds.mutual_information),
        "entropy": _number(ds.entropy),
        "residual_entropy": _number(ds.residual_entropy),
        "source_information": dict(
            zip(sources, map(_number, ds.source_information.values), strict=True)
        ),
    }
    if binning is not None:
        result["binning"] = {"method": binning.method, "bins": binning.bins,
                             **({"range": list(binning.value_range)}
                                if binning.method == "fixed" else {})}
    if args.shuffles:
        null = _shuffle_null(codes, table.shape, args.shuffles, args.seed)
        result["shuffles"] = args.shuffles
        result["p_value"] = dict(zip(labels, map(_number, null.p_value.values), strict=True))
        result["null_mean"] = dict(zip(labels, map(_number, null.pid_null_mean.values),
                                       strict=True))
    local = None
    if args.pointwise:
        local = decompose_dataset(table, n, pointwise=True)
        result["pointwise"] = _pointwise_rows(local, sources, source_values, target_values,
                                              args.target, labels)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    out = [
        f"I^sx decomposition of {'standard input' if str(args.file) == '-' else args.file} (bits)",
        f"sources: {', '.join(f'{i + 1}={s}' for i, s in enumerate(sources))}; "
        f"target: {args.target}",
        *([f"sources binned: {_describe(binning)}, over the {len(codes)} observations"]
          if binning is not None else []),
        "",
    ]
    width = max(len(label) for label in labels) + 2
    null_header = f"{'p':>9}{'null mean':>13}" if args.shuffles else ""
    out.append(f"{'atom':<{width}}{'bits':>13}{'informative':>14}{'misinformative':>16}"
               + null_header)
    for label in labels:
        null_cols = (f"{result['p_value'][label]:>9.4f}{_clean(result['null_mean'][label]):>13.6f}"
                     if args.shuffles else "")
        out.append(
            f"{label:<{width}}{_fmt(result['atoms'][label]):>13}"
            f"{_fmt(result['informative'][label]):>14}"
            f"{_fmt(result['misinformative'][label]):>16}" + null_cols
        )
    if args.shuffles:
        out += ["", f"p: shuffle null of {args.shuffles} permutations of the target over the "
                f"{len(codes)} observations (seed {args.seed}); p >= 1/{args.shuffles + 1}. "
                "null mean: the atom's mean under it, the estimation bias (bits)."]
    out += [
        "",
        f"H(T)   = {_clean(result['entropy']):.9f}",
        f"I(T;S) = {_clean(result['mutual_information']):.9f}  (sum of the atoms)",
        f"H_res  = {_clean(result['residual_entropy']):.9f}  (H(T) - I(T;S))",
    ]
    for s, v in result["source_information"].items():
        out.append(f"I(T;{s}) = {_clean(v):.9f}")
    if local is not None:
        frame = pd.DataFrame(
            [{**r["sources"], args.target: r["target"], "p": r["p"], **r["atoms"]}
             for r in result["pointwise"]]
        )
        out += ["", "pointwise atoms (realisations with p > 0):",
                frame.to_string(index=False, float_format=lambda x: f"{x:.6f}")]
    print("\n".join(out))
    return 0


def _describe(binning) -> str:
    if binning.method == "fixed":
        low, high = binning.value_range
        return f"{binning.bins} equal bins of [{low:g}, {high:g}] each"
    if binning.method == "maxnorm":
        return f"{binning.bins} equal bins of [-1, 1] after dividing each by its max |x|"
    return f"{binning.bins} equal-frequency (quantile) bins each"


def _binning(args):
    """The Binning that --bins, --binning and --range ask for, or None (values as categories)."""
    if args.bins is None:
        if args.range is not None or args.binning is not None:
            raise InfomorphError("--binning and --range take effect with --bins N")
        return None
    if not args.samples:
        raise InfomorphError("--bins needs --samples: it bins observations, and a table of "
                             "probabilities holds realisations")
    if (args.binning == "fixed") != (args.range is not None):
        raise InfomorphError("--range LOW HIGH goes with --binning fixed, and fixed needs it")
    from inspector.pid import Binning

    if args.range is not None:
        return Binning("fixed", args.bins, tuple(args.range))
    return Binning(args.binning or "quantile", args.bins)


def _shuffle_null(codes: np.ndarray, shape: tuple[int, ...], shuffles: int, seed: int):
    """The shuffle null of observations ``codes`` (row, n + 1; the target last) through the
    engine, as a Dataset with ``p_value`` and ``pid_null_mean`` (atom,)."""
    from inspector.pid import Binning, decompose_samples_dataset

    return decompose_samples_dataset(codes[:, :-1], codes[:, -1],
                                     binning=Binning("discrete", max(2, *shape[:-1])),
                                     shuffles=shuffles, rng=seed)


def _pointwise_rows(local, sources, source_values, target_values, target, labels):
    prob = local.probability.values
    rows = []
    for index in zip(*np.nonzero(prob > 0), strict=True):
        atoms = local.pid.values[index]
        rows.append({
            "sources": {s: source_values[i][index[i]] for i, s in enumerate(sources)},
            "target": target_values[index[-1]],
            "p": float(prob[index]),
            "atoms": dict(zip(labels, map(_number, atoms), strict=True)),
            "informative": dict(zip(labels, map(_number, local.pid_informative.values[index]),
                                    strict=True)),
            "misinformative": dict(zip(labels, map(_number,
                                                   local.pid_misinformative.values[index]),
                                       strict=True)),
        })
    return rows
