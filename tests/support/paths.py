"""Where the tests find the repository and the shared test material (../shared beside the clone)."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("NETWATCH_SHARED", REPO.parent / "shared")).resolve()
CACHE = REPO / ".cache"
