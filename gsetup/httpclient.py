"""One TLS context a process for gsetup's HTTP clients.

httpx makes a TLS context for each client it builds, reading the whole CA bundle (30-50 ms of
CPU), even for a plain ``http://`` URL: a health probe polling a starting DMS, or each agent
command's request, paid that every time. Each client is given this one as ``verify=``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


@functools.cache
def tls() -> ssl.SSLContext:
    """httpx's default context (its CA bundle, or SSL_CERT_FILE/SSL_CERT_DIR), made once."""
    import httpx

    return httpx.create_ssl_context()
