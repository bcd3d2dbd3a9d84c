"""Shared fixtures: the repository's test data and the `auditframe` command to compare with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"

# Every export shape of testdata/shapes (the same 100 logical events), the embedded sample
# and Parquet written by DuckDB.
SHAPE_FILES = sorted((TESTDATA / "shapes").iterdir())
PARQUET_FILES = sorted((TESTDATA / "parquet").glob("*.parquet"))
SAMPLE = TESTDATA / "default-sample.aks.json.gz"


def _find_cli() -> Path:
    """The CLI binary: $AUDITFRAME_CLI, else a cargo build's (debug or release), else PATH."""
    if "AUDITFRAME_CLI" in os.environ:
        return Path(os.environ["AUDITFRAME_CLI"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        p = target / profile / "auditframe"
        if p.exists():
            return p
    found = shutil.which("auditframe")
    if found:
        return Path(found)
    raise RuntimeError(
        "the auditframe command is needed to compare with: build it "
        "(cargo build -p auditframe-cli) or set AUDITFRAME_CLI"
    )


@pytest.fixture(scope="session")
def cli():
    """Runs `auditframe ARGS… --format json` and returns the parsed document."""
    binary = _find_cli()

    def run(*args: object) -> dict:
        out = subprocess.run(
            [str(binary), *map(str, args), "--format", "json"],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout)

    return run
