from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared folder (real survey files), beside the repository."""
    for candidate in (ROOT.parent / "shared", ROOT / "shared"):
        if (candidate / "realdata").is_dir():
            return candidate
    pytest.skip("the shared/ folder with real survey files is not beside this checkout")
