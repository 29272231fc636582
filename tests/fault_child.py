"""A crash-test child process: the engine with the fake encoder (no model), one fault point armed.

``SEPADAN_FAULT=index.ids.renamed python tests/fault_child.py HOME EXACT_MAX build`` loads or
rebuilds the indexes; ``... erase WORKER_ID`` erases a worker. This script is an edge, like the
CLI: it reads SEPADAN_FAULT and arms the point; the library only reaches it. Used by faultkit.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import TODAY, FakeEncoder, make_settings  # noqa: E402

from sepadan import faults  # noqa: E402
from sepadan.engine import Engine  # noqa: E402


def main(home: str, exact_max: str, action: str, *args: str) -> None:
    faults.arm(os.environ.get("SEPADAN_FAULT"))
    engine = Engine(make_settings(Path(home), index_exact_max=int(exact_max)), encoder=FakeEncoder(), today=TODAY)
    if action == "build":
        engine.build()
    elif action == "erase":
        engine.live.erase(args[0])
        engine.live.wait()
    else:
        raise SystemExit(f"unknown action {action!r}")
    sys.stdout.write("finished without reaching the armed point\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
