"""`parface serve`: request checks without Ray (default suite); the HTTP endpoint on a local Ray
Serve (slow: about a minute on 2 busy cores), bad requests answered 4xx with one line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from parface_sdk.scale.serve import decode_request, request_error


def test_request_checks():
    assert request_error("POST", None, 100) is None and request_error("post", "99", 100) is None
    status, reason = request_error("GET", None, 100)
    assert status == 405 and "POST" in reason
    assert request_error("POST", "101", 100)[0] == 413
    assert request_error("POST", "lots", 100)[0] == 400
    assert decode_request(b"", 100)[0] == 400
    assert decode_request(b"x" * 101, 100)[0] == 413
    status, reason = decode_request(b"not an image", 100)
    assert status == 400 and "not a decodable image" in reason and "\n" not in reason


def test_decoded_request_is_the_sdk_image(image_folder):
    from parface_sdk.image import load_image

    data = (image_folder / "astronaut.jpg").read_bytes()
    assert np.array_equal(decode_request(data, len(data)), load_image(image_folder / "astronaut.jpg"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, data: bytes | None, method: str = "POST", timeout: float = 30):
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.slow
def test_http_endpoint(image_folder, aligner, tmp_path):
    pytest.importorskip("ray.serve", reason='the ray extra is not installed (pip install "parface-sdk[ray]")')
    import os
    import signal

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    args = [sys.executable, "-m", "parface_sdk.cli.main", "serve", "--port", str(port), "--max-body-mb", "1"]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while True:
            try:
                status, _ = _post(url, b"", timeout=5)
                if status == 400:
                    break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "serve did not come up in 150 s"
            time.sleep(2)
        status, body = _post(url, (image_folder / "astronaut.jpg").read_bytes())
        assert status == 200
        expected = aligner.align(str(image_folder / "astronaut.jpg"))
        answer = json.loads(body)
        assert len(answer["faces"]) == len(expected.faces) == 1
        diff = np.abs(np.array(answer["faces"][0]["landmarks"]) - expected.faces[0].landmarks).max()
        assert diff < 1e-3
        assert json.loads(_post(url, (image_folder / "blank.png").read_bytes())[1])["faces"] == []
        for data, method, want in [
            (b"", "POST", 400),
            (b"not an image at all", "POST", 400),
            (b"\0" * (2 * 1024 * 1024), "POST", 413),
            (None, "GET", 405),
        ]:
            status, reason = _post(url, data, method)
            assert status == want, reason
            assert reason.count("\n") == 1 and "Traceback" not in reason
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
