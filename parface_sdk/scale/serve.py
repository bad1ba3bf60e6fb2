"""``parface serve``: an HTTP endpoint on Ray Serve. POST an image file's bytes, get the
:class:`~parface_sdk.AlignResult` JSON (``result.to_json()``) back.

Requests from many clients are joined by ``@serve.batch`` into one ``align_batch`` call per
replica (up to ``max_batch`` images, waiting at most ``batch_wait_s`` for a batch to fill);
``replicas`` copies each hold one Aligner. Bad requests get a 4xx status with a one-line plain-text
reason, never a 500 with a traceback:

- 405: not a POST;
- 413: a body (or Content-Length) over ``max_body_bytes``;
- 400: an empty body, or bytes that are not a decodable image;
- 422: an image the SDK refuses for another reason (a typed :class:`~parface_sdk.ParfaceError`).

The request checks (:func:`request_error`, :func:`decode_request`) are plain functions, so they
are tested without Ray. Ray is imported only by :func:`build_app` / :func:`serve_forever`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from parface_sdk.errors import InvalidImageError, ParfaceError
from parface_sdk.scale import require_ray, start_ray

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024


def _line(text: str) -> str:
    return " ".join(str(text).split())


def request_error(method: str, content_length: str | None, max_body_bytes: int) -> tuple[int, str] | None:
    """``(status, reason)`` for a request refused from its method and headers alone, else None."""
    if method.upper() != "POST":
        return (
            405,
            f"{method} is not supported: POST an image file's bytes (JPEG, PNG, WebP, ...) to this URL",
        )
    if content_length is not None:
        try:
            length = int(content_length)
        except ValueError:
            return 400, f"invalid Content-Length {content_length!r}"
        if length > max_body_bytes:
            return 413, f"body of {length} bytes is over the limit of {max_body_bytes} bytes"
    return None


def decode_request(body: bytes, max_body_bytes: int) -> tuple[int, str] | np.ndarray:
    """The RGB image of a request body, or ``(status, reason)`` when it cannot be one."""
    from parface_sdk.image import load_image

    if len(body) > max_body_bytes:
        return 413, f"body of {len(body)} bytes is over the limit of {max_body_bytes} bytes"
    if not body:
        return 400, "empty body: POST an image file's bytes (JPEG, PNG, WebP, ...)"
    try:
        return load_image(body)
    except InvalidImageError as exc:
        return 400, _line(exc)
    except ParfaceError as exc:
        return 422, _line(exc)


def _service_class():
    """The deployment class; built here because ``@serve.batch`` needs ray at definition time."""
    import asyncio

    from ray import serve
    from starlette.responses import Response

    def refusal(status: int, reason: str) -> Response:
        return Response(reason + "\n", status_code=status, media_type="text/plain")

    class AlignService:
        def __init__(self, model: str | None, options: dict[str, Any], max_body_bytes: int, batch: dict):
            from parface_sdk.aligner import Aligner
            from parface_sdk.options import AlignerOptions

            self.aligner = Aligner(model, AlignerOptions(**options))
            self.aligner.detector  # noqa: B018  load it now, not on the first request
            self.max_body_bytes = max_body_bytes
            self.align_images.set_max_batch_size(batch["max_batch_size"])
            self.align_images.set_batch_wait_timeout_s(batch["batch_wait_timeout_s"])

        def _align(self, images: list[np.ndarray]) -> list[str | tuple[int, str]]:
            try:
                return [result.to_json() for result in self.aligner.align_batch(images, color="RGB")]
            except Exception:  # noqa: BLE001  one image spoiled the batch: answer each alone
                answers: list[str | tuple[int, str]] = []
                for image in images:
                    try:
                        answers.append(self.aligner.align(image, color="RGB").to_json())
                    except ParfaceError as exc:
                        answers.append((422, _line(exc)))
                    except Exception as exc:  # noqa: BLE001
                        logger.exception("alignment failed")
                        answers.append((500, f"internal error: {type(exc).__name__}"))
                return answers

        @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.005)
        async def align_images(self, images: list[np.ndarray]) -> list[str | tuple[int, str]]:
            return await asyncio.to_thread(self._align, images)

        async def __call__(self, request) -> Response:
            refused = request_error(
                request.method, request.headers.get("content-length"), self.max_body_bytes
            )
            if refused:
                return refusal(*refused)
            body = bytearray()
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > self.max_body_bytes:
                    return refusal(413, f"body over the limit of {self.max_body_bytes} bytes")
            decoded = await asyncio.to_thread(decode_request, bytes(body), self.max_body_bytes)
            if isinstance(decoded, tuple):
                return refusal(*decoded)
            answer = await self.align_images(decoded)
            if isinstance(answer, tuple):
                return refusal(*answer)
            return Response(answer, media_type="application/json")

    return AlignService


def build_app(
    model: str | None = None,
    options: dict[str, Any] | None = None,
    *,
    replicas: int = 1,
    max_batch: int = 8,
    batch_wait_s: float = 0.005,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    cpus_per_replica: float = 1.0,
    gpus_per_replica: float = 0.0,
    local: bool = True,
):
    """The Serve application (``Deployment.bind(...)``), for ``serve.run``. ``local``: it will run
    on a local Ray (bound to 127.0.0.1), not on a cluster given by address."""
    require_ray("serve", purpose="parface serve", local=local)
    from ray import serve

    from parface_sdk.options import AlignerOptions

    options = dict(options or {})
    options.setdefault("threads", max(1, int(cpus_per_replica)))
    options = AlignerOptions(**options).model_dump(mode="json", exclude_defaults=True)
    actor_options: dict[str, Any] = {"num_cpus": cpus_per_replica}
    if gpus_per_replica:
        actor_options["num_gpus"] = gpus_per_replica
    deployment = serve.deployment(
        _service_class(),
        name="parface",
        num_replicas=replicas,
        ray_actor_options=actor_options,
        max_ongoing_requests=max(4 * max_batch, 16),
    )
    batch = {"max_batch_size": max_batch, "batch_wait_timeout_s": batch_wait_s}
    return deployment.bind(None if model is None else str(model), options, max_body_bytes, batch)


def start(
    app,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    address: str | None = None,
    replicas: int = 1,
    cpus_per_replica: float = 1.0,
    gpus_per_replica: float = 0.0,
    verbose: bool = False,
) -> bool:
    """Start (or connect to) Ray, start Serve's HTTP proxy on ``host:port`` and deploy ``app`` at
    ``/``. Returns whether Ray was started here (shut it down with :func:`stop`)."""
    ray = require_ray("serve", purpose="parface serve", local=address is None)
    from ray import serve

    started = start_ray(ray, address, replicas * cpus_per_replica + 1, replicas * gpus_per_replica, verbose)
    serve.start(http_options={"host": host, "port": port})
    serve.run(app, name="parface", route_prefix="/", blocking=False)
    return started


def stop(started_ray: bool) -> None:
    import ray
    from ray import serve

    try:
        serve.shutdown()
    finally:
        if started_ray:
            ray.shutdown()


def serve_forever(app, **kwargs: Any) -> None:
    """:func:`start`, then wait for Ctrl-C, then :func:`stop`."""
    started = start(app, **kwargs)
    try:
        while True:
            time.sleep(3600)
    finally:
        stop(started)
