"""The fixed set of files the server sends: the studio page and the Swagger UI of /docs.

Each file is read once, when the app is built, from the folder of the package
that ships it, into a table keyed by a fixed name. A request only selects an
entry of that table, so no part of a URL ever becomes a file path.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

STUDIO_FILES = {
    "index.html": "text/html; charset=utf-8",
    "studio.css": "text/css; charset=utf-8",
    "studio.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "autocomplete.js": "text/javascript; charset=utf-8",
    "ideas.js": "text/javascript; charset=utf-8",
}
SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
SWAGGER_UI_EXTRA_HINT = "Swagger UI for /docs is missing; install it with pip install 'designgan[serve]'."


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


def load_studio_assets() -> dict[str, Asset]:
    folder = files("designgan.serve") / "static"
    return {name: Asset((folder / name).read_bytes(), media_type) for name, media_type in STUDIO_FILES.items()}


def load_swagger_ui_assets() -> dict[str, Asset]:
    """Read Swagger UI from the swagger-ui-bundle-v2 package, so /docs works without a network."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError as error:
        raise ImportError(SWAGGER_UI_EXTRA_HINT) from error
    return {name: Asset((swagger_ui_path / name).read_bytes(), media_type)
            for name, media_type in SWAGGER_UI_FILES.items()}
