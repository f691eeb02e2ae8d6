"""``GET /ecg/{ecg_id}``: the viewer's page, and its files under ``/viewer/assets/``.

The page is the same static file for every ECG and needs no token: it asks for nothing
but the API's answers, with the access token it holds (its login form gets one from
``POST /api/v1/auth/login``), so serving it tells no one anything. The id is only
checked to be a UUID, so that a mistyped address is a 404 here and not a page that
fails later; whether the ECG exists, and whose it is, is the API's to say.

Hand-written JavaScript modules, one stylesheet and an icon, from this package (they
are in the wheel with it): no CDN, no build step, nothing fetched from another origin.
Every answer carries the same Content-Security-Policy, which holds the page to that:
scripts, styles and requests only from the gateway, no inline script or style, no
plugin, no framing (it draws medical data: no clickjacking), no base rewriting, forms
posted only here. The page and the ECG id in its address are never cached
(``no-store``); the assets may be kept but are revalidated on every use (``no-cache``,
answered 304 by their ETag), so that a deployment never pairs an old script with a new
page. ``Referrer-Policy: no-referrer`` keeps the ECG's id out of other servers' logs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

HERE: Final = Path(__file__).resolve().parent
ASSETS: Final = HERE / "assets"
ASSETS_PATH: Final = "/viewer/assets"

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_HEADERS: Final = {**HEADERS, "Cache-Control": "no-store"}
ASSET_HEADERS: Final = {**HEADERS, "Cache-Control": "no-cache"}


class Assets(StaticFiles):
    """The viewer's files, each answer (304s included) with ``ASSET_HEADERS``."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(ASSET_HEADERS)
        return response


def routes() -> list[BaseRoute]:
    page = (HERE / "page.html").read_bytes()

    async def viewer(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    return [
        Route("/ecg/{ecg_id:uuid}", viewer, methods=["GET"], name="viewer"),
        Mount(ASSETS_PATH, Assets(directory=ASSETS), name="viewer_assets"),
    ]
