"""The ``infomorph`` command line: one verb per module, errors as one line and exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from inspector.allocator import keep_freed_memory
from inspector.errors import InfomorphError

EXIT_USAGE = 2


def _verbs():
    # Each verb module has register(subparsers); importing lazily keeps `infomorph --help` fast.
    from inspector.cli import _analyze, _export, _info, _pid, _train, _view

    return {"train": _train, "analyze": _analyze, "export": _export, "view": _view,
            "info": _info, "pid": _pid}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infomorph",
        description="Train infomorphic networks and inspect each neuron's information "
        "decomposition (I^sx PID).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in _verbs().values():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    keep_freed_memory()
    try:
        return int(args.run(args) or 0)
    except InfomorphError as err:
        if args.debug:
            raise
        print(f"infomorph: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, like other Unix tools.
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as err:
        if args.debug:
            raise
        where = f": {err.filename}" if getattr(err, "filename", None) else ""
        print(f"infomorph: error: {err.strerror or err}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("infomorph: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
