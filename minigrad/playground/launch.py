"""Start the playground's web server: ``python -m minigrad.playground [--port N]``.

The page is served by Streamlit on localhost (``streamlit run`` on :mod:`.app`, as a
child process); the address is printed first. ``--port 0`` picks a free port. Stopping
the launcher (Ctrl-C or a plain ``kill``) stops the server with it.

>>> port = free_port()
>>> 1024 <= port < 65536
True
>>> streamlit_command(8501)[1:4]
['-m', 'streamlit', 'run']
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from typing import List, Optional

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")
DEFAULT_PORT = 8501


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def streamlit_command(port: int, address: str = "localhost") -> List[str]:
    """The command that serves the page on ``address:port`` without opening a browser."""
    return [sys.executable, "-m", "streamlit", "run", APP,
            "--server.port", str(port), "--server.address", address,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal"]


def main(argv: Optional[List[str]] = None) -> int:
    """Parse the arguments, print the address and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m minigrad.playground",
                                     description="The Optimizer Playground web app.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to serve on (default {DEFAULT_PORT}; 0 picks a free one)")
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        parser.error(f"--port must be in [0, 65535], got {args.port}")
    if importlib.util.find_spec("streamlit") is None:
        print("The playground needs Streamlit: pip install -e '.[playground]'", file=sys.stderr)
        return 1
    port = args.port or free_port()
    print(f"Optimizer Playground: http://localhost:{port}  (Ctrl-C stops it)", flush=True)
    server = subprocess.Popen(streamlit_command(port))
    # A plain `kill` of this launcher must not leave the server running on its own.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(server)


def stop(server: subprocess.Popen, timeout: float = 5.0) -> None:
    """End the server: ask it to stop, and kill it if it is still running after
    ``timeout`` seconds."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
