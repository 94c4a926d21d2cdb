"""Where the SQL the package deploys lives: inside the wheel, or in the checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder `migrations`, `functions` or `sql`.

    An installed wheel carries them under `hookline/_data/`; a checkout (or an editable
    install) has them at the top of the repository, two levels above this package.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"hookline's {name}/ folder is missing from this installation")
