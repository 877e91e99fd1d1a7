"""``infomorph view LOGDIR [--port P]``: the Streamlit inspector on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from inspector.errors import InfomorphError


def register(sub) -> None:
    p = sub.add_parser(
        "view",
        help="open the inspector app (Streamlit) on a LOGDIR",
        description="Serve the inspector on http://127.0.0.1:PORT for the runs below LOGDIR. "
        "It reads only LOGDIR; stop it with Ctrl-C.",
    )
    p.add_argument("logdir", type=Path, metavar="LOGDIR")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.set_defaults(run=run)


def command(logdir: Path, port: int) -> list[str]:
    from inspector.app import SCRIPT

    # inspector.app.serve is `streamlit` with the pages' imports paid before it listens
    return [sys.executable, "-m", "inspector.app.serve", "run", str(SCRIPT),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal",
            "--", str(logdir)]


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """A one-line error now rather than Streamlit's log line after it has started."""
    with socket.socket() as s:
        # as the server will bind: a port left in TIME_WAIT by a stopped server is free
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise InfomorphError(
                f"port {port} on {host} is in use (another inspector?); pass --port N "
                "with a free port") from None


def run(args) -> int:
    if not args.logdir.is_dir():
        raise InfomorphError(f"LOGDIR {args.logdir} does not exist or is not a directory")
    if not 0 < args.port < 65536:
        raise InfomorphError(f"--port must be between 1 and 65535, got {args.port}")
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise InfomorphError("the inspector needs streamlit: pip install streamlit") from None
    check_port_free(args.port)
    print(f"infomorph inspector: http://127.0.0.1:{args.port}  (Ctrl-C stops it)",
          file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process, so that Ctrl-C and kill reach the server itself (no orphan).
    argv = command(args.logdir, args.port)
    os.execv(argv[0], argv)
    return 0
