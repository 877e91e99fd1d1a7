"""``infomorph train``: train a preset and record the run under LOGDIR."""

from __future__ import annotations

from pathlib import Path

from inspector.errors import InfomorphError


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train an infomorphic network (or a baseline) into LOGDIR",
        description="Train a preset on a dataset; every checkpoint is recorded "
        "in LOGDIR/NAME/run.h5.",
    )
    p.add_argument("--preset", default=None, help="preset name (see --list-presets)")
    p.add_argument("--data", default=None,
                   help="digits (default), mnist or fashion-mnist (memory presets: patterns)")
    p.add_argument("--data-dir", default=None,
                   help="directory of the four IDX files (gzip or unpacked; or a "
                        "torchvision root)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (repeatable), e.g. --set hidden=50",
    )
    p.add_argument("--config", default=None, metavar="FILE.toml", help="config keys in TOML")
    p.add_argument("--logdir", type=Path, default=None, help="where runs are written")
    p.add_argument("--name", default=None, help="run name (default: preset-data-hN-sSEED-time)")
    p.add_argument("--device", default=None, help="cpu or cuda")
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run from its last complete checkpoint",
    )
    p.add_argument("--list-presets", action="store_true", help="list presets and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from training.config import make_config, parse_sets, read_toml
    from training.presets import PRESETS
    from training.trainer import resume, train

    if args.list_presets:
        width = max(map(len, PRESETS))
        for name, p in PRESETS.items():
            print(f"{name:<{width}}  {p.description}")
        return 0
    if args.resume is not None:
        run_dir = resume(args.resume, progress=not args.quiet)
        print(f"resumed and finished {run_dir}")
        return 0
    if args.logdir is None:
        raise InfomorphError("train needs --logdir DIR (where the run is written)")
    if args.logdir.exists() and not args.logdir.is_dir():
        raise InfomorphError(f"--logdir {args.logdir} is a file; it must be a directory "
                             "(made if missing)")
    values = read_toml(args.config) if args.config else {}
    values.update(parse_sets(args.set))
    for key, value in (
        ("preset", args.preset),
        ("data", args.data),
        ("data_dir", args.data_dir),
        ("device", args.device),
    ):
        if value is not None:
            values[key] = value
    config = make_config(values)
    run_dir = train(config, args.logdir, args.name, progress=not args.quiet)
    from storage import open_run

    metrics = open_run(run_dir).metrics().iloc[-1]
    if "recall" in metrics:
        print(f"{run_dir}: recalled {metrics['recall']:.3f} of the patterns from cues with "
              f"{config.cue_noise:.0%} of the bits flipped ({metrics['recall_clean']:.3f} "
              "from the patterns themselves; mean cosine of pattern and fixed point "
              f"{metrics['recall_cosine']:.3f})")
    else:
        print(f"{run_dir}: test accuracy {metrics['test_accuracy']:.4f}, "
              f"validation {metrics['val_accuracy']:.4f}")
    print(f"next: infomorph analyze {args.logdir}   then: infomorph view {args.logdir}")
    return 0
