"""The FastAPI app: `create_app(model, config)` builds one app around one loaded model.

Everything an app uses lives in the ServeContext that the factory builds and
its routes close over, so two apps in one process (as in the tests) share
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from .. import __version__
from ..pipeline import DesignModel
from .assets import Asset, load_studio_assets, load_swagger_ui_assets
from .config import ServeConfig
from .context import RequestValueError, ServeContext
from .control_routes import control_router
from .control_schemas import CONTROL_ALLOWED_VALUES
from .convert import model_name
from .limits import BodySizeLimitMiddleware, InferenceQueue, QueueFullError
from .request_log import RequestLogMiddleware, SecurityHeadersMiddleware
from .routes import catalog_router, generation_router, health_router
from .schemas import ALLOWED_VALUES

ALLOWED = {**ALLOWED_VALUES, **CONTROL_ALLOWED_VALUES}

logger = logging.getLogger(__name__)

# The studio loads nothing from other origins and runs no inline script; images
# arrive as data: URLs and downloads are blob: URLs.
STUDIO_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
              "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def create_app(model: DesignModel, config: ServeConfig | None = None) -> FastAPI:
    """Build the HTTP API and studio page for a loaded model.

    When it starts, the app draws one warm-up image in the background (unless
    config.warm_up is False). Meanwhile /healthz returns 200 and /readyz 503;
    /readyz returns 200 once the warm-up has succeeded.
    """
    config = (config or ServeConfig()).validate()
    context = ServeContext(model=model, config=config,
                          queue=InferenceQueue(config.inference_threads, config.max_waiting),
                          model_name=model_name(model))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        logger.info("Serving model %s (%s, %d px) with %d inference thread(s), %d waiting at most",
                    context.model_name, model.model_id, model.resolution_px, config.inference_threads,
                    config.max_waiting)
        warm_up_task = None
        if config.warm_up:
            warm_up_task = asyncio.create_task(warm_up(context))
        else:
            context.ready = True
        yield
        if warm_up_task is not None and not warm_up_task.done():
            warm_up_task.cancel()
        context.queue.shutdown()
        logger.info("Stopped serving model %s", context.model_name)

    app = FastAPI(
        title="designgan",
        version=__version__,
        description="Generate design ideas from keywords with a keyword-conditioned GAN.",
        docs_url=None,  # served below from local files instead of a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.include_router(generation_router(context))
    app.include_router(control_router(context))
    app.include_router(catalog_router(context))
    app.include_router(health_router(context))
    add_exception_handlers(app)
    add_page_routes(app)

    # Starlette runs the middleware added last first: request log, CORS, security
    # headers, then the body-size limit closest to the routes.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=config.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type"])
    app.add_middleware(RequestLogMiddleware)
    return app


# A word outside any vocabulary: resolving it loads the sentence encoder that maps
# unknown words by meaning (when the designgan[text] extra is installed).
WARM_UP_UNKNOWN_WORD = "zzwarmupzz"


async def warm_up(context: ServeContext) -> None:
    """Draw one image and resolve one unknown word, so that the first requests do not pay for setup.

    PyTorch's first forward pass is slow, and so is loading the sentence encoder,
    which took 16 s with its imports on 2 busy CPU cores. Marks the context ready on success; when
    the model cannot draw, /readyz stays at 503.
    """
    model = context.model
    vocabulary = model.vocabulary
    keywords = [vocabulary.keywords[0]] if vocabulary is not None and len(vocabulary) else []

    def job() -> None:
        model.generate_ideas(keywords, n=1, seed=0)
        if vocabulary is not None and model.similarity_threshold is not None:
            model.resolve_keywords(WARM_UP_UNKNOWN_WORD)

    try:
        await context.queue.run(job)
    except Exception:  # noqa: BLE001  any failure means the model cannot serve; log it and stay unready
        logger.exception("Warm-up generation failed for model %s; /readyz stays at 503", context.model_name)
        return
    context.ready = True
    logger.info("Model %s is ready", context.model_name)


def allowed_values(loc: list[str | int]) -> str | None:
    """Return the allowed values of the field at `loc`: the most specific entry of the tables, or None."""
    names = [part for part in loc[1:] if isinstance(part, str)]  # loc[0] is "body" or "query"
    candidates = [".".join(names)] + names[::-1]  # "idea.seed", then "seed", then "idea"
    for name in candidates:
        if name in ALLOWED:
            return ALLOWED[name]
    return None


def field_error(loc: list[str | int], message: str, error_type: str) -> dict[str, Any]:
    """Build one entry of a 422 response, with the field's allowed values when they are known."""
    return {"loc": loc, "msg": message, "type": error_type, "allowed": allowed_values(loc)}


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        # The rejected input is not echoed back: it may be a 64 KiB string.
        details = [field_error(list(item["loc"]), item["msg"], item["type"]) for item in error.errors()]
        return JSONResponse({"detail": details}, status_code=422)

    @app.exception_handler(RequestValueError)
    async def rejected_value(_request: Request, error: RequestValueError) -> JSONResponse:
        loc: list[str | int] = ["body", *error.field.split(".")]
        return JSONResponse({"detail": [field_error(loc, error.message, error.error_type)]},
                            status_code=422)

    @app.exception_handler(QueueFullError)
    async def queue_full(request: Request, error: QueueFullError) -> JSONResponse:
        logger.warning("request_id=%s rejected: inference queue full, Retry-After %d s",
                       getattr(request.state, "request_id", "-"), error.retry_after_seconds)
        return JSONResponse({"detail": str(error)}, status_code=503,
                            headers={"Retry-After": str(error.retry_after_seconds)})


def asset_response(asset: Asset, headers: dict[str, str] | None = None) -> Response:
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def add_page_routes(app: FastAPI) -> None:
    """Add the studio page at / with its files under /static, and Swagger UI at /docs."""
    studio = load_studio_assets()
    swagger_ui = load_swagger_ui_assets()

    @app.get("/", include_in_schema=False)
    async def studio_page() -> Response:
        return asset_response(studio["index.html"], {"Content-Security-Policy": STUDIO_CSP})

    @app.get("/static/{name}", include_in_schema=False)
    async def studio_file(name: str) -> Response:
        if name not in studio:
            return JSONResponse({"detail": "studio file not found"}, status_code=404)
        return asset_response(studio[name])

    @app.get("/docs", include_in_schema=False)
    async def swagger_page() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="designgan API",
                                   swagger_js_url="/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/swagger-ui.css",
                                   swagger_favicon_url="/docs/favicon-32x32.png")

    @app.get("/docs/{name}", include_in_schema=False)
    async def swagger_file(name: str) -> Response:
        if name not in swagger_ui:
            return JSONResponse({"detail": "Swagger UI file not found"}, status_code=404)
        return asset_response(swagger_ui[name])
