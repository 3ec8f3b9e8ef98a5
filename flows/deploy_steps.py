"""Pull step of ``deployments/prefect.yaml``, run by a Prefect worker before each flow run.

Prefect fills ``{{ $VAR }}`` templates in when ``prefect deploy`` runs, so a directory written
that way is the *deployer's*. This step reads the worker's own environment at run time instead.
"""

from __future__ import annotations

import os
from pathlib import Path


def checkout_directory() -> dict[str, str]:
    """Change to this worker's tocsin checkout: ``$TOCSIN_DIR``, else the checkout the
    installed ``flows`` package lives in (``pip install -e``). The flow's relative paths
    (``deployments/watchlist.yaml``, ``seeds/``) are read from there."""
    directory = os.environ.get("TOCSIN_DIR") or str(Path(__file__).resolve().parent.parent)
    if not (Path(directory) / "flows" / "monitor.py").is_file():
        raise FileNotFoundError(f"no tocsin checkout at {directory} (TOCSIN_DIR on this worker)")
    os.chdir(directory)
    return {"directory": directory}
