"""The HTTP API and browser studio: `designgan serve`, or `create_app(model, config)` under any ASGI server.

Needs the serve extra: pip install 'designgan[serve]'.
"""

from __future__ import annotations

SERVE_EXTRA_HINT = "the HTTP server needs the serve extra; install it with pip install 'designgan[serve]'."

try:
    from .app import create_app
    from .config import ServeConfig
except ImportError as error:  # fastapi, uvicorn or swagger-ui-bundle-v2 is missing
    raise ImportError(f"{SERVE_EXTRA_HINT} ({error})") from error

__all__ = ["ServeConfig", "create_app", "SERVE_EXTRA_HINT"]
