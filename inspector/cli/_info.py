"""``infomorph info PATH``: a run (or every run below a LOGDIR) at a glance."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from inspector.errors import InfomorphError
from inspector.logdir import READABLE_ANALYSIS, analysis_state, recorded_settings
from inspector.pid import format_goal
from storage import RUN_FILE, find_runs, open_run


def register(sub) -> None:
    p = sub.add_parser("info", help="status, layers, checkpoints and last metrics of runs",
                       description="Summarise a run directory (or run.h5), or one line per run "
                       "below a LOGDIR.")
    p.add_argument("path", type=Path, help="run directory, run.h5 or LOGDIR")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def _is_single_run(path: Path) -> bool:
    return path.is_file() or (path / RUN_FILE).exists()


def run(args) -> int:
    path: Path = args.path
    if not path.exists():
        raise InfomorphError(f"no such run or directory: {path}")
    if _is_single_run(path):
        run_ = open_run(path)
        summary = {**run_.summary(), "analysis": _analysis(run_)}
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(_describe(summary))
        return 0
    runs = find_runs(path)
    if not runs:
        raise InfomorphError(f"no runs below {path} (a run is a directory holding {RUN_FILE})")
    summaries, failed = [], 0
    for run_dir in runs:
        name = run_dir.relative_to(path).as_posix()  # as the inspector names it: sweep/seed0
        try:
            run_ = open_run(run_dir)
            summaries.append({**run_.summary(), "run": name,
                              "analysis": {"state": analysis_state(run_)}})
        except InfomorphError as err:
            failed += 1
            summaries.append({"run": name, "error": str(err)})
    if args.json:
        print(json.dumps(summaries, indent=2))
    else:
        for s in summaries:
            print(_one_line(s))
    if failed:
        print(f"infomorph: error: {failed} of {len(runs)} runs could not be read",
              file=sys.stderr)
        return 2
    return 0


def _analysis(run_) -> dict:
    """The analysis' state and, where it can be read, each layer's neuron classes at its last
    analysed checkpoint (shares of the layer's neurons) and how it was estimated."""
    from inspector.atom_classes import neuron_class_shares
    from inspector.collection import estimator_attrs
    from inspector.curves import estimator_text
    from storage import open_analysis

    out: dict = {"state": analysis_state(run_)}
    if out["state"] not in READABLE_ANALYSIS:
        return out
    out["layers"] = {}
    try:
        tree = open_analysis(run_.dir, variables=("entropy", "neuron_class", "p_value"))
    except (InfomorphError, OSError):  # its attributes read, its data did not
        return {"state": "unreadable"}
    steps = (recorded_settings(tree.attrs) or {}).get("shuffle_steps", "all")
    for layer, node in tree.children.items():
        last = node.ds.isel(checkpoint=-1)
        shares = neuron_class_shares(last.neuron_class.values, last.entropy.notnull().values)
        out["layers"][layer] = {
            "step": int(last.checkpoint),
            # the layer's sources are in the run's summary already
            "binning": estimator_text({**estimator_attrs(node.attrs), "sources": None}),
            "classes": {c: round(float(v), 4) for c, v in shares.items()},
            "shuffles": int(node.attrs.get("shuffles", 0)),
            "shuffle_steps": steps,
        }
        if "p_value" in last:
            from inspector.significance import fdr_note, significant_share

            shares = significant_share(last.p_value, fdr=True)
            note = fdr_note(int(node.attrs.get("shuffles", 0)), int(last.sizes["neuron"]))
            if note:
                out["layers"][layer]["fdr_note"] = note
            out["layers"][layer]["significant_fdr"] = {
                str(a): round(float(v), 4) for a, v in zip(shares.atom.values, shares.values,
                                                           strict=True)}
    return out


def _metrics_text(metrics: dict) -> str:
    shown = {k: v for k, v in metrics.items() if k not in ("wall_time",) and v is not None}
    return ", ".join(f"{k}={v:.4g}" for k, v in shown.items())


def _one_line(s: dict) -> str:
    if "error" in s:
        return f"{s['run']}: error: {s['error']}"
    layers = " ".join(f"{x['name']}[{x['neurons']}]" for x in s["layers"])
    step = "-" if s["last_step"] is None else s["last_step"]
    return (f"{s['run']}: {s['status']}, {s['checkpoints']} checkpoints (last step {step}), "
            f"layers {layers}; {_metrics_text(s['last_metrics'])}; "
            f"analysis {s['analysis']['state']}")


def _describe(s: dict) -> str:
    lines = [
        f"run        {s['run']} ({s['path']})",
        f"status     {s['status']}",
        f"preset     {s['preset']}",
        f"data       {s['dataset']} ({s['probe_samples']} probe samples)",
        f"checkpoints {s['checkpoints']} (last step {s['last_step']})",
        "layers",
    ]
    for x in s["layers"]:
        lines.append(f"  {x['name']:<10} {x['neurons']:>5} neurons  sources "
                     f"{','.join(x['sources'])}  {x['activation']}")
        if x.get("goal"):
            lines.append("  " + " " * 10 + " goal " + format_goal(x["goal"]))
    lines.append(f"last       {_metrics_text(s['last_metrics']) or '-'}")
    analysis = s["analysis"]
    lines.append(f"analysis   {analysis['state']}")
    for layer, x in analysis.get("layers", {}).items():
        classes = ", ".join(f"{c} {100 * v:.0f} %" for c, v in x["classes"].items())
        null = (f", shuffle null of {x['shuffles']}"
                + (" at the last step" if x.get("shuffle_steps") == "last" else "")
                if x["shuffles"] else "")
        lines.append(f"  {layer:<10} neurons at step {x['step']}: {classes} "
                     f"({x['binning']}{null})")
        if x.get("significant_fdr"):
            top = sorted(x["significant_fdr"].items(), key=lambda item: -item[1])
            shown = ", ".join(f"{a} {100 * v:.0f} %" for a, v in top[:INFO_ATOMS])
            more = f", ... ({len(top)} atoms: --json)" if len(top) > INFO_ATOMS else ""
            lines.append(f"  {'':<10} beating the null (5 % FDR): {shown}{more}")
            if x.get("fdr_note"):
                lines.append(f"  {'':<10} ({x['fdr_note']})")
    return "\n".join(lines)


INFO_ATOMS = 6
"""Atoms named in ``info``'s line of the shares beating the null (the largest shares)."""
