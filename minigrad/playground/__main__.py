"""``python -m minigrad.playground [--port N]``: serve the Optimizer Playground."""
import sys

from .launch import main

sys.exit(main())
