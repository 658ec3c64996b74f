"""The generated scripts shipped inside the gsetup package, and their checksums.

Commands read these files rather than generating the text, so that what a DBA is handed, what
``apply`` runs and what the history table records are the checked-in bytes, and so that a
runtime install does not need the generator's dialect packages (ibm-db-sa). ``data`` is a
symbolic link to the repository's sql/ folder; building the package copies the files in.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from gsetup.sqlscripts.catalog import Script

DATA_PACKAGE = "gsetup.sqlscripts"
DATA_DIR = "data"


def read_script(script: Script, dbms: str) -> str:
    """The shipped text of ``script`` for ``dbms``."""
    path = resources.files(DATA_PACKAGE).joinpath(DATA_DIR, dbms, script.name)
    return path.read_text(encoding="utf-8")


def checksum(text: str) -> str:
    """SHA-256 of a script's text, as recorded in the history table."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
