"""The tag studio (studio/): its HTTP API through the standard library
client (valid requests, every kind of bad request, concurrent requests), the
command that serves it, and the page in a real headless Chromium.

Uses the bundled models/default (generator.tflite + checker), copied into a
temporary project root beside a fake run, so nothing here needs ../shared."""

import base64
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.cli_support import default_sigint
from tests.conftest import ROOT

DEFAULT = ROOT / "models" / "default"
SECRET = "do-not-serve-this-3141"
PAD = 2


def _png_pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """root/models/default (bundled model), root/runs/r1/export (+ the run's eval.csv),
    root/runs/r2 (a run without export: not listed), root/runs/r3/export (no tag checker),
    and a secret file beside root."""
    base = tmp_path_factory.mktemp("studio")
    root = base / "project"
    shutil.copytree(DEFAULT, root / "models" / "default")
    export = root / "runs" / "r1" / "export"
    shutil.copytree(DEFAULT, export, ignore=shutil.ignore_patterns("metrics.json"))
    (root / "runs" / "r1" / "eval.csv").write_text(
        "step,acc_hair,acc_eyes,diversity_ratio,frechet_generated_vs_real\n"
        "200,0.5,0.4,0.3,200.0\n300,0.61,0.42,0.33,180.5\n"
    )
    shutil.copytree(
        DEFAULT, root / "runs" / "r3" / "export", ignore=shutil.ignore_patterns("metrics.json", "checker*")
    )
    (root / "runs" / "r2").mkdir(parents=True)
    (root / "runs" / "r2" / "config.json").write_text("{}")
    (base / "secret.txt").write_text(SECRET)
    (root / "models" / "secret.txt").write_text(SECRET)
    return root


class Live:
    def __init__(self, port, studio=None):
        self.port, self.studio = port, studio


@pytest.fixture(scope="module")
def server(project):
    """The studio as a user starts it (python -m studio), in its own process: a LiteRT
    interpreter gives wrong pixels on repeated calls in a process that has imported TensorFlow,
    as the test process has once the training tests ran."""
    proc, lines = _start(["--root", str(project)], project)
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", "".join(lines))
    if not match:
        proc.kill()
        pytest.fail("studio did not start: " + "".join(lines) + proc.stderr.read())
    yield Live(int(match.group(1)))
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def inproc(project):
    """The same studio in this process (its files can be watched); for requests that draw nothing."""
    from studio import make_server

    srv = make_server("127.0.0.1", 0, root=project)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Live(srv.server_address[1], srv)
    srv.shutdown()
    srv.server_close()


def _url(server, path):
    return f"http://127.0.0.1:{server.port}{path}"


def get(server, path, headers=None, method="GET"):
    """(status, headers, body bytes) without raising on 4xx."""
    request = urllib.request.Request(_url(server, path), headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get_json(server, path, **kw):
    status, headers, body = get(server, path, **kw)
    assert headers["Content-Type"].startswith("application/json"), (path, status, body[:200])
    return status, json.loads(body)


# ---------------------------------------------------------------- valid requests
def test_binds_loopback_by_default(inproc):
    assert inproc.studio.server_address[0] == "127.0.0.1"


def test_model_list_has_steps_and_metrics(server):
    status, data = get_json(server, "/api/models")
    assert status == 200
    models = {m["id"]: m for m in data["models"]}
    assert list(models) == ["models/default", "runs/r1/export", "runs/r3/export"]  # runs/r2 has no export
    assert not models["runs/r3/export"]["checker"]
    assert data["default"] == "models/default"
    bundled = models["models/default"]
    shipped = json.loads((DEFAULT / "metrics.json").read_text())  # the bundled model's own figures
    assert bundled["step"] == shipped["step"] > 0
    assert bundled["metrics"]["acc_hair"] == pytest.approx(shipped["acc_hair"])
    assert bundled["checker"] and bundled["litert"]
    run = models["runs/r1/export"]
    assert run["step"] == 300 and run["metrics_file"] == "eval.csv"  # last row of the run's eval.csv
    assert run["metrics"] == {
        "acc_hair": 0.61,
        "acc_eyes": 0.42,
        "diversity_ratio": 0.33,
        "frechet_generated_vs_real": 180.5,
    }
    assert "step 300" in run["label"] and "hair 0.61" in run["label"]


def test_page_and_static_files(server):
    status, headers, body = get(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'id="generate"' in body and b"/studio.js" in body
    for path, kind in (("/studio.js", "javascript"), ("/studio.css", "css")):
        status, headers, _ = get(server, path)
        assert status == 200 and kind in headers["Content-Type"]


def test_vocab_and_parse(server):
    status, vocab = get_json(server, "/api/vocab?model=models/default")
    assert status == 200
    assert "blue" in vocab["groups"]["hair"] and "red" in vocab["groups"]["eyes"]
    assert vocab["checker"] is True and vocab["backend"] == "litert"
    status, parsed = get_json(server, "/api/parse?tags=Red+Eyes,+Blue+Hair")
    assert status == 200 and parsed["text"] == "blue hair red eyes" and parsed["missing"] == []
    status, parsed = get_json(server, "/api/parse?tags=Blond+Hair")
    assert parsed["values"] == {"hair": "blonde"} and parsed["missing"] == ["eyes"]


def test_grid_is_the_cli_grid(server, tmp_path):
    """Same tags and seed: the studio's PNG has exactly the pixels generate.py writes."""
    out = tmp_path / "cli.png"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "generate.py"),
            "--model",
            str(DEFAULT),
            "--tags",
            "blue hair red eyes",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    status, headers, body = get(server, "/api/grid.png?tags=blue+hair+red+eyes&seed=3")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert 'filename="blue_hair_red_eyes_seed3.png"' in headers["Content-Disposition"]
    np.testing.assert_array_equal(_png_pixels(body), _png_pixels(out.read_bytes()))


def test_grid_json_with_grades(server):
    status, data = get_json(server, "/api/grid?tags=blue+hair+red+eyes&seed=3&scale=2&grade=1")
    assert status == 200
    assert data["n"] == 25 and data["cols"] == 5 and data["cells"] == ["blue hair red eyes"] * 25
    assert data["width"] == data["height"] == 5 * (64 * 2 + PAD) + PAD
    image = _png_pixels(__import__("base64").b64decode(data["image"].split(",", 1)[1]))
    assert image.shape == (data["height"], data["width"], 3)
    grade = data["grade"]
    assert grade["groups"] == ["hair", "eyes"] and len(grade["marks"]) == 25
    for g, j in (("hair", 0), ("eyes", 1)):
        assert grade["accuracy"][g] == pytest.approx(sum(m[j] for m in grade["marks"]) / 25, abs=1e-4)
    # the border of the first cell is green or red, as the mark says
    corner = tuple(image[PAD, PAD])
    assert corner == ((30, 170, 60) if grade["marks"][0][0] else (220, 30, 40))
    # a graded 5x5 grid carries the course baseline: the detector's count on the plain grid
    from PIL import Image

    from evaluate.baseline import grade_grid_image

    _, _, plain_png = get(server, "/api/grid.png?tags=blue+hair+red+eyes&seed=3&n=25&cols=5&scale=1")
    expected = grade_grid_image(np.asarray(Image.open(io.BytesIO(plain_png)).convert("RGB")))
    assert data["baseline"] == {"faces": expected.faces, "of": 25, "pass_at": 20, "passed": expected.passed}
    # the same request again gives the same picture (a link reproduces it)
    _, again = get_json(server, "/api/grid?tags=blue+hair+red+eyes&seed=3&scale=2&grade=1")
    assert again["image"] == data["image"]


def test_missing_group_is_drawn_per_face(server):
    status, data = get_json(server, "/api/grid?tags=pink+hair&n=6&cols=3")
    assert status == 200 and len(data["cells"]) == 6
    assert all(c.startswith("pink hair ") and c.endswith(" eyes") for c in data["cells"])
    assert data["filename"] == "pink_hair_n6.png" and data["baseline"] is None


def test_face_download_is_the_grid_cell(server):
    _, _, grid_png = get(server, "/api/grid.png?tags=green+hair+yellow+eyes&seed=5&n=4&cols=2")
    status, headers, face_png = get(server, "/api/face.png?tags=green+hair+yellow+eyes&seed=5&n=4&i=3")
    assert status == 200
    assert 'filename="green_hair_yellow_eyes_seed5_n4_4.png"' in headers["Content-Disposition"]
    grid, face = _png_pixels(grid_png), _png_pixels(face_png)
    r, c = divmod(3, 2)
    y, x = PAD + r * (64 + PAD), PAD + c * (64 + PAD)
    np.testing.assert_array_equal(face, grid[y : y + 64, x : x + 64])


def _cli_png(tmp_path, *flags) -> np.ndarray:
    out = tmp_path / "cli.png"
    subprocess.run(
        [sys.executable, str(ROOT / "generate.py"), "--model", str(DEFAULT), *flags, "--out", str(out)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    return _png_pixels(out.read_bytes())


def test_sweep_and_interpolation(server, tmp_path):
    """The studio's sweep is the CLI's picture (a labelled column per colour, a labelled row per z),
    and every download is named by the canonical tags, as generate.py names its files."""
    status, data = get_json(server, "/api/sweep?group=hair&tags=red+eyes&rows=2")
    assert status == 200 and len(data["columns"]) == 12 and len(data["rows"]) == 2
    assert data["filename"] == "sweep_hair_red_eyes_n2.png"
    status, headers, body = get(server, "/api/sweep.png?group=hair&tags=Red+Eyes&rows=2&seed=4")
    assert status == 200 and 'filename="sweep_hair_red_eyes_seed4_n2.png"' in headers["Content-Disposition"]
    cli = _cli_png(tmp_path, "--sweep", "hair", "--tags", "red eyes", "--n", "2", "--seed", "4")
    np.testing.assert_array_equal(_png_pixels(body), cli)
    assert cli.shape[0] > 2 * (64 + PAD) + PAD  # the column labels sit above the faces
    status, data = get_json(server, "/api/interpolate?a=blue+hair+red+eyes&b=green+hair+yellow+eyes&steps=6")
    assert status == 200 and data["label"] == "blue hair red eyes -> green hair yellow eyes"
    assert data["width"] == 6 * (64 + PAD) + PAD
    assert data["filename"] == "interpolate_blue_hair_red_eyes_to_green_hair_yellow_eyes_cells6.png"
    status, data = get_json(server, "/api/interpolate?a=1&b=2&tags=red+hair+blue+eyes&steps=3")
    assert status == 200 and data["label"] == "red hair blue eyes: seed 1 -> 2"
    assert data["filename"] == "interpolate_seed1_to_seed2_red_hair_blue_eyes_cells3.png"
    status, headers, body = get(server, "/api/sweep.png?group=eyes&rows=1")
    assert status == 200 and 'filename="sweep_eyes_n1.png"' in headers["Content-Disposition"]


def test_truncation_is_the_cli_truncation(server, tmp_path):
    status, headers, body = get(server, "/api/grid.png?tags=blue+hair+red+eyes&seed=3&truncation=0.7")
    assert (
        status == 200 and 'filename="blue_hair_red_eyes_seed3_trunc0.7.png"' in headers["Content-Disposition"]
    )
    truncated = _png_pixels(body)
    np.testing.assert_array_equal(
        truncated, _cli_png(tmp_path, "--tags", "blue hair red eyes", "--seed", "3", "--truncation", "0.7")
    )
    _, _, plain = get(server, "/api/grid.png?tags=blue+hair+red+eyes&seed=3")
    assert not np.array_equal(truncated, _png_pixels(plain))  # and it is switched off again afterwards
    _, _, again = get(server, "/api/grid.png?tags=blue+hair+red+eyes&seed=3&truncation=1")
    np.testing.assert_array_equal(_png_pixels(again), _png_pixels(plain))


def test_compare_two_models_same_seed(server):
    _, a = get_json(server, "/api/grid?model=models/default&tags=white+hair&seed=9&n=4")
    _, b = get_json(server, "/api/grid?model=runs/r1/export&tags=white+hair&seed=9&n=4")
    _, b2 = get_json(server, "/api/grid?model=runs/r1&tags=white+hair&seed=9&n=4")  # the run dir = its export
    assert a["model"] == "models/default" and b["model"] == b2["model"] == "runs/r1/export"
    assert a["image"] == b["image"] == b2["image"]  # r1 holds the same weights


# ---------------------------------------------------------------- bad requests
BAD = [
    # (path, status, param, words in the message)
    ("/api/grid?tags=bleu+hair+red+eyes", 400, "tags", "closest known tags: blue hair"),
    ("/api/grid?tags=blue+hair+red+hair", 400, "tags", "two hair colours"),
    ("/api/grid?tags=", 400, "tags", "missing parameter"),
    ("/api/grid", 400, "tags", "missing parameter"),
    ("/api/parse?tags=long+nose", 400, "tags", "unknown tag 'long nose'"),
    ("/api/grid?tags=red+hair&n=0", 400, "n", "from 1 to 100"),
    ("/api/grid?tags=red+hair&n=101", 400, "n", "from 1 to 100"),
    ("/api/grid?tags=red+hair&n=5x", 400, "n", "whole number"),
    ("/api/grid?tags=red+hair&seed=-1", 400, "seed", "from 0 to"),
    ("/api/grid?tags=red+hair&cols=0", 400, "cols", "from 1 to 20"),
    ("/api/grid?tags=red+hair&scale=9", 400, "scale", "from 1 to 4"),
    ("/api/grid?tags=red+hair&grade=maybe", 400, "grade", "0 or 1"),
    ("/api/grid?tags=red+hair&truncation=1.5", 400, "truncation", "from 0 to 1"),
    ("/api/grid?tags=red+hair&truncation=-0.5", 400, "truncation", "from 0 to 1"),
    ("/api/grid?tags=red+hair&truncation=0%2C7", 400, "truncation", "such as 0.7"),
    ("/api/sweep?group=hair&truncation=nan", 400, "truncation", "such as 0.7"),
    ("/api/grid?tags=red+hair&truncation=%D9%A0.5", 400, "truncation", "such as 0.7"),  # Arabic-Indic 0
    ("/api/face.png?tags=red+hair&n=4&i=4", 400, "i", "has 4 faces"),
    ("/api/grid?tags=red+hair&out=/tmp/x.png", 400, "out", "unknown parameter"),
    ("/api/grid?tags=red+hair&tags=blue+hair", 400, "tags", "given 2 times"),
    ("/api/grid?tags=red%00hair", 400, "tags", "control characters"),
    ("/api/grid?tags=" + "a" * 301, 400, "tags", "longer than 300"),
    ("/api/sweep?group=nose", 400, "group", "groups are hair, eyes"),
    ("/api/interpolate?a=blue+hair&b=bleu+hair", 400, "b", "unknown tag"),
    ("/api/interpolate?a=1&b=2", 400, "tags", "missing parameter"),
    # seeds of interpolation and integers: plain ASCII digits in range, a 400 naming the parameter (issue 24)
    ("/api/interpolate?a=-1&b=2&tags=red+hair", 400, "a", "from 0 to 4294967295"),
    ("/api/interpolate?a=99999999999999999999999&b=2&tags=red+hair", 400, "a", "from 0 to 4294967295"),
    ("/api/interpolate?a=1&b=4294967296&tags=red+hair", 400, "b", "from 0 to 4294967295"),
    ("/api/interpolate.png?a=-5&b=-6&tags=red+hair", 400, "a", "from 0 to 4294967295"),
    ("/api/interpolate?a=1&b=blue+hair&tags=red+hair", 400, "b", "two seeds or two tag texts"),
    ("/api/grid?tags=red+hair&seed=5_0", 400, "seed", "digits 0-9 only"),
    ("/api/grid?tags=red+hair&seed=%D9%A5", 400, "seed", "digits 0-9 only"),  # an Arabic-Indic 5
    ("/api/grid?tags=red+hair&n=+5", 400, "n", "digits 0-9 only"),
    ("/api/sweep?group=hair&rows=%EF%BC%93", 400, "rows", "digits 0-9 only"),  # a full-width 3
    # model paths outside the model folders, and path tricks
    ("/api/grid?tags=red+hair&model=../secret.txt", 400, "model", "outside the model folders"),
    ("/api/grid?tags=red+hair&model=models/../../secret.txt", 400, "model", "outside the model folders"),
    ("/api/grid?tags=red+hair&model=runs/r1/export/../../../../secret.txt", 400, "model", "outside"),
    ("/api/grid?tags=red+hair&model=%2Fetc%2Fpasswd", 400, "model", "outside the model folders"),
    ("/api/grid?tags=red+hair&model=%2E%2E%2Fsecret.txt", 400, "model", "outside the model folders"),
    ("/api/grid?tags=red+hair&model=models%5C..%5C..%5Csecret.txt", 400, "model", "outside"),
    ("/api/grid?tags=red+hair&model=~/models", 400, "model", "outside the model folders"),
    ("/api/grid?tags=red+hair&model=file:///etc/passwd", 400, "model", "outside the model folders"),
    ("/api/vocab?model=tests", 400, "model", "outside the model folders"),
    ("/api/grid?tags=red+hair&model=models/secret.txt", 404, "model", "no model 'models/secret.txt'"),
    ("/api/grid?tags=red+hair&model=runs/r2", 404, "model", "no model 'runs/r2'"),
    ("/api/grid?tags=red+hair&model=runs/nothing/export", 404, "model", "no model"),
    ("/../secret.txt", 404, None, "no page"),
    ("/static/../../secret.txt", 404, None, "no page"),
    ("/%2e%2e/%2e%2e/secret.txt", 404, None, "no page"),
    ("/models/secret.txt", 404, None, "no page"),
    ("/studio/server.py", 404, None, "no page"),
    ("/api/../../secret.txt", 404, None, "no API"),
    ("/api/models.png", 404, None, "no API"),
    ("/api/face?tags=red+hair", 404, None, "no API"),
]


@pytest.fixture(scope="module")
def opened_files():
    """Every file the process opens whose path holds 'secret' (an audit hook; hooks cannot be
    removed, so it only records while `active`)."""
    record = {"active": False, "paths": []}

    def hook(event, args):
        if record["active"] and event == "open" and args and "secret" in str(args[0]):
            record["paths"].append(str(args[0]))

    sys.addaudithook(hook)
    return record


@pytest.mark.parametrize("path,status,param,words", BAD)
def test_bad_requests_get_a_clear_json_error(inproc, opened_files, path, status, param, words):
    opened_files["active"] = True
    try:
        got, data = get_json(inproc, path)
    finally:
        opened_files["active"] = False
    assert got == status, data
    assert data["status"] == status and data["param"] == param
    assert words in data["error"], data["error"]
    assert SECRET not in json.dumps(data)
    assert opened_files["paths"] == []


def test_other_methods_and_foreign_hosts_are_refused(server):
    for method in ("POST", "DELETE", "OPTIONS", "TRACE", "BREW"):
        status, headers, body = get(server, "/api/models", method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD", (method, status)  # RFC 9110 15.5.6
        assert "GET" in json.loads(body)["error"]
    # a page on another site reaching the studio through a rebound DNS name
    status, data = get_json(server, "/api/models", headers={"Host": "evil.example:8765"})
    assert status == 403 and "127.0.0.1" in data["error"]
    for host in ("localhost:1", "127.0.0.1", "[::1]:8765"):
        assert get(server, "/api/models", headers={"Host": host})[0] == 200


def test_idle_and_slow_connections_are_closed_and_free_their_threads(inproc, monkeypatch):
    """An idle socket, and one that sends its request a byte at a time, are closed after
    REQUEST_TIMEOUT (shortened here) and their threads end; a normal request is unaffected."""
    import socket

    from common import webserver

    monkeypatch.setattr(webserver, "REQUEST_TIMEOUT", 1.0)
    baseline = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", inproc.port)) for _ in range(4)]
    slow = socket.create_connection(("127.0.0.1", inproc.port))
    start = time.monotonic()
    slow.sendall(b"GET /api/models HTTP/1.0\r\n")
    for _ in range(6):  # a header byte every 0.3 s: each read is quick, the whole request is not
        try:
            slow.sendall(b"X")
        except OSError:
            break
        time.sleep(0.3)
    for sock in idle + [slow]:
        sock.settimeout(5)
        try:
            assert sock.recv(100) == b""  # the server closed it (a timeout here: it did not)
        except ConnectionResetError:
            pass
        sock.close()
    assert time.monotonic() - start < 4
    deadline = time.monotonic() + 3
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= baseline
    assert get(inproc, "/api/models")[0] == 200


def test_kept_alive_connections_answer_at_once_and_are_closed_when_idle(inproc, monkeypatch):
    """HTTP/1.1 keep-alive (uvicorn): requests on one connection answer without the 40 ms of Nagle's
    algorithm against a delayed ACK (TCP_NODELAY), HEAD has no body, and a connection that sends no
    further request, or one a byte at a time, is closed REQUEST_TIMEOUT (shortened) after its last answer."""
    import http.client
    import socket

    from common import webserver

    monkeypatch.setattr(webserver, "REQUEST_TIMEOUT", 1.0)
    conn = http.client.HTTPConnection("127.0.0.1", inproc.port, timeout=10)
    times = []
    for _ in range(6):
        start = time.perf_counter()
        conn.request("GET", "/api/parse?tags=blue+hair")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["text"] == "blue hair"
        times.append(time.perf_counter() - start)
    assert min(times[1:]) < 0.03, times  # 0.04 s and more each without TCP_NODELAY
    conn.request("HEAD", "/api/models")
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b""
    assert response.getheader("Content-Type") == "application/json"
    for trickle in (False, True):
        sock = socket.create_connection(("127.0.0.1", inproc.port), timeout=5)
        sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:100]
        start = time.monotonic()
        for _ in range(8 if trickle else 0):  # the next request a byte every 0.3 s
            try:
                sock.sendall(b"G")
            except OSError:
                break
            time.sleep(0.3)
        try:
            while chunk := sock.recv(65536):  # the rest of the answer, then the close
                assert not chunk.startswith(b"HTTP/"), chunk[:100]
        except ConnectionResetError:  # closed with the trickled bytes unread
            pass
        assert time.monotonic() - start < 4
        sock.close()


def test_connections_at_once_are_bounded(inproc, monkeypatch):
    """Past CONNECTIONS open connections (3 here), a request is answered 503 at once instead of waiting."""
    import socket

    from common.webserver import CONNECTIONS

    assert inproc.studio.uvicorn.config.limit_concurrency == CONNECTIONS
    monkeypatch.setattr(inproc.studio.uvicorn.config, "limit_concurrency", 3)  # read by each new connection
    idle = [socket.create_connection(("127.0.0.1", inproc.port)) for _ in range(3)]
    try:
        assert get(inproc, "/api/models")[0] == 503
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while get(inproc, "/api/models")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_bug_is_a_json_500_with_its_traceback_in_the_log(inproc, monkeypatch, caplog):
    """An endpoint's bug answers a JSON 500 naming it and logs its traceback (uvicorn's log, at ERROR:
    with no logging set up, Python prints it to stderr); the studio goes on serving."""

    def broken(p):
        raise RuntimeError("a bug")

    monkeypatch.setattr(inproc.studio.studio, "model_list", broken)
    status, data = get_json(inproc, "/api/models")
    assert status == 500 and data["error"] == "internal error (RuntimeError: a bug)"
    deadline = time.monotonic() + 5
    while not any(r.exc_info and r.levelname == "ERROR" for r in caplog.records):  # logged after the answer
        assert time.monotonic() < deadline, caplog.records
        time.sleep(0.05)
    assert [str(r.exc_info[1]) for r in caplog.records if r.exc_info] == ["a bug"]
    monkeypatch.undo()
    assert get(inproc, "/api/models")[0] == 200


def test_the_studio_starts_without_tensorflow(project):
    """A model with generator.tflite is served on the fast path: starting the studio (loading the model and
    the checker, the warm-up, the web framework) imports no TensorFlow, Keras or pandas."""
    code = (
        "import sys\nfrom studio import make_server\n"
        f"make_server('127.0.0.1', 0, root={str(project)!r}).server_close()\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_nothing_is_written(server, project):
    before = sorted(str(p) for p in project.rglob("*"))
    for path in (
        "/api/grid?tags=red+hair&grade=1",
        "/api/grid.png?tags=red+hair",
        "/api/sweep?group=hair",
        "/api/face.png?tags=red+hair&i=2",
    ):
        assert get(server, path)[0] == 200
    assert sorted(str(p) for p in project.rglob("*")) == before


# ---------------------------------------------------------------- recolour an upload (the only POST)
@pytest.fixture(scope="module")
def face_png():
    """A synthetic blue-haired, red-eyed face at 80x80, as the PNG bytes a user uploads."""
    from PIL import Image

    from preprocess.synthetic import draw_face

    buffer = io.BytesIO()
    Image.fromarray(draw_face("blue", "red", size=80, rng=np.random.default_rng(5))).save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


def post(server, path, body: bytes, headers=None):
    """(status, JSON) of a POST with `body`."""
    request = urllib.request.Request(
        _url(server, path), data=body, method="POST", headers={"Content-Type": "image/png", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_edit_upload_gives_reconstruction_edit_and_sweeps(server, face_png):
    query = "/api/edit?tags=green+hair&from=blue+hair+red+eyes&seed=3&scale=2"
    status, data = post(server, query, face_png)
    assert status == 200, data
    assert data["source"] == "blue hair red eyes" and data["from"] == "text"
    assert data["tags"] == "green hair red eyes"  # the eyes not named keep the face's colour
    images = {
        k: _png_pixels(base64.b64decode(data[k].split(",", 1)[1]))
        for k in ("original", "reconstruction", "edit")
    }
    assert {im.shape for im in images.values()} == {(128, 128, 3)}  # the model's size, zoom 2
    original = images["original"].astype(float)
    _, random_grid = get_json(server, "/api/grid?tags=blue+hair+red+eyes&n=4&cols=4&scale=2&seed=3")
    cells = _png_pixels(base64.b64decode(random_grid["image"].split(",", 1)[1]))
    random_faces = [
        cells[PAD : PAD + 128, PAD + k * (128 + PAD) : PAD + k * (128 + PAD) + 128] for k in range(4)
    ]
    closest_random = min(np.abs(f - original).mean() for f in random_faces)
    assert np.abs(images["reconstruction"] - original).mean() < 0.8 * closest_random  # it found this face
    hair = data["sweeps"]["hair"]
    assert len(hair["columns"]) == 12
    assert _png_pixels(base64.b64decode(hair["image"].split(",", 1)[1])).shape[1] == 12 * (128 + PAD) + PAD
    again = post(server, query, face_png)[1]  # the same seed, the same pixels
    assert again["edit"] == data["edit"] and again["reconstruction"] == data["reconstruction"]
    status, read = post(server, "/api/edit?tags=green+hair", face_png)  # the bundled checker reads the face
    assert status == 200 and read["from"] == "checker" and read["tags"].startswith("green hair")


@pytest.mark.parametrize(
    "query,body,headers,status,param,words",
    [
        (
            "/api/edit?tags=green+hair",
            b"not an image" * 10,
            {},
            400,
            "image",
            "cannot use the upload as a face",
        ),
        ("/api/edit?tags=rainbow+hair", "FACE", {}, 400, "tags", "unknown tag 'rainbow hair'"),
        ("/api/edit?tags=green+hair&from=blue+hair+blue+hair+red+hair", "FACE", {}, 400, "from", "two hair"),
        ("/api/edit?tags=green+hair&n=3", "FACE", {}, 400, "n", "unknown parameter 'n'"),
        ("/api/edit?tags=green+hair", "BOMB", {}, 400, "image", "cannot use the upload as a face"),
        ("/api/edit?tags=green+hair", b"", {}, 400, "image", "no image"),
    ],
)
def test_bad_uploads_get_a_clear_json_error(server, face_png, query, body, headers, status, param, words):
    if body == "BOMB":  # 64 million pixels in a few kB: refused by the training images' reader
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("1", (8000, 8000)).save(buffer, format="PNG")
        body = buffer.getvalue()
        assert len(body) < 100_000
    got, data = post(server, query, face_png if body == "FACE" else body, headers)
    assert got == status and data["param"] == param, data
    assert words in data["error"]


def test_an_upload_over_the_limit_is_refused_unread(server):
    from studio.app import MAX_UPLOAD

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(
            f"POST /api/edit?tags=green+hair HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {MAX_UPLOAD + 1}\r\n\r\n".encode()
        )  # and no body
        chunks = []
        while chunk := conn.recv(65536):  # the server closes the connection after its answer
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 413") and "at most 8 MiB" in answer
    assert get_json(server, "/api/edit?tags=green+hair")[0] == 405  # the upload is a POST body


@pytest.mark.slow
def test_an_upload_is_never_written_to_disk(inproc, face_png):
    writes = {"active": False, "paths": []}

    def hook(event, args):  # every file opened for writing while active (hooks cannot be removed)
        if writes["active"] and event == "open" and len(args) > 2:
            mode, flags = args[1], args[2] or 0
            if (mode and any(c in str(mode) for c in "wax+")) or flags & (
                os.O_WRONLY | os.O_RDWR | os.O_CREAT
            ):
                writes["paths"].append(str(args[0]))

    sys.addaudithook(hook)
    query = "/api/edit?tags=pink+hair&from=blue+hair+red+eyes"
    assert post(inproc, query, face_png)[0] == 200  # opens TensorFlow (its logs go to a temporary file)
    writes["active"] = True
    try:
        status, data = post(inproc, query, face_png)
    finally:
        writes["active"] = False
    assert status == 200 and data["tags"] == "pink hair red eyes"
    assert writes["paths"] == []


# ---------------------------------------------------------------- concurrency
@pytest.mark.slow
def test_concurrent_requests_from_threads(server):
    """Sixteen requests over eight threads, both models, with and without grading: each
    answer equals the same request made alone, and each model was loaded once."""
    queries = [
        f"/api/grid?model={m}&tags={t}&seed={s}&n=9&cols=3&grade={g}"
        for m in ("models/default", "runs/r1/export")
        for t, s, g in (
            ("blue+hair+red+eyes", 1, 1),
            ("green+hair", 2, 0),
            ("red+eyes", 3, 1),
            ("white+hair+aqua+eyes", 4, 0),
        )
    ]
    queries += [f"/api/sweep?model=models/default&group=eyes&seed={s}&rows=1" for s in range(4)]
    queries += [f"/api/face.png?tags=pink+hair&seed={s}&i=1" for s in range(4)]
    alone = {q: get(server, q)[2] for q in queries}
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: (q, get(server, q)), queries * 2))
    for q, (status, _, body) in together:
        assert status == 200, body[:200]
        if "/api/grid" in q or "/api/sweep" in q:
            a, b = json.loads(body), json.loads(alone[q])
            assert a["image"] == b["image"] and a.get("grade") == b.get("grade"), q
        else:
            assert body == alone[q], q
    _, listing = get_json(server, "/api/models")
    loads = {m["id"]: m["loads"] for m in listing["models"]}
    assert loads["models/default"] == loads["runs/r1/export"] == 1 and all(n <= 1 for n in loads.values())


# ---------------------------------------------------------------- the command
COMMANDS = {
    "module": [sys.executable, "-m", "studio"],
    "generate.py": [sys.executable, str(ROOT / "generate.py"), "--serve"],
    "run.sh": [str(ROOT / "run.sh"), "--serve"],
}


def _start(args, cwd, command="module"):
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    env.pop("TAGFACE_MODEL", None)
    proc = subprocess.Popen(
        COMMANDS[command] + ["--port", "0"] + args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )  # the tests stop it with SIGINT
    lines = []
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    return proc, lines


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_prints_its_address_and_stops_on_ctrl_c(command, tmp_path):
    if command == "run.sh" and not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("run.sh needs .venv (./run.sh or bash .ci/run creates it)")
    proc, lines = _start([], tmp_path, command)
    try:
        text = "".join(lines)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", text)
        assert match, text + proc.stderr.read() if proc.poll() is not None else text
        assert "listening on 127.0.0.1 only" in text and "(model models/default)" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/api/models", timeout=30) as r:
            assert json.loads(r.read())["default"] == "models/default"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "studio stopped" in out and "Traceback" not in err


def test_command_says_when_it_is_open_to_the_network():
    proc, lines = _start(["--host", "0.0.0.0"], ROOT)
    try:
        assert any("anyone who can reach this machine" in line for line in lines), lines
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_ctrl_c_stops_it_with_a_connection_open(project):
    """A kept-alive connection left open does not hold the studio up when Ctrl-C stops it."""
    import http.client

    proc, lines = _start(["--root", str(project)], project)
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", "".join(lines)).group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/models")
        assert conn.getresponse().status == 200  # and the connection stays open
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "studio stopped" in out and "Traceback" not in err, err
    assert time.monotonic() - start < 5
    conn.close()


def test_command_bad_model_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "studio", "--port", "0", "--model", str(tmp_path / "none")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: model ") and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- the page in Chromium
def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium:
        pytest.skip(
            "chromium is not installed (apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    if not driver_path:
        pytest.skip("chromedriver is not installed (apt-get install chromium-driver; .ci/run installs it)")
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip("selenium is not installed (pip install -r requirements-test.txt)")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1200",
    ):
        options.add_argument(arg)
    options.binary_location = chromium
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))


@pytest.mark.slow
def test_page_in_headless_chromium(server, face_png, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = _browser()
    try:
        wait = WebDriverWait(driver, 60)
        driver.get(_url(server, "/"))
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
        models = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "model")).options]
        assert models == ["models/default", "runs/r1/export", "runs/r3/export"]
        # the page opens with a grid of the model's first pair (blue hair red eyes here), in the link
        assert _image_loaded(driver, "grid-0") and "tags=blue+hair+red+eyes" in driver.current_url
        hair = Select(driver.find_element(By.ID, "hair"))
        assert "blue" in [o.get_attribute("value") for o in hair.options]
        hair.select_by_value("blue")
        Select(driver.find_element(By.ID, "eyes")).select_by_value("red")
        assert driver.find_element(By.ID, "tags").get_attribute("value") == "blue hair red eyes"
        driver.find_element(By.ID, "generate").click()
        size = wait.until(
            lambda d: d.execute_script(
                "const i = document.getElementById('grid-0');"
                "return i && i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight] : null;"
            )
        )
        assert size == [5 * (64 * 2 + PAD) + PAD] * 2  # 25 faces, 5 columns, zoom 2
        assert "tags=blue+hair+red+eyes" in driver.current_url and "seed=0" in driver.current_url

        driver.find_element(By.ID, "grade").click()  # regenerates with the checker's marks
        text = wait.until(
            lambda d: (
                "hair" in d.find_element(By.ID, "accuracy-0").text
                and d.find_element(By.ID, "accuracy-0").text
            )
        )
        shown = {g: float(v) for g, v in re.findall(r"(hair|eyes) ([01]\.\d\d)", text)}
        _, api = get_json(server, "/api/grid?tags=blue+hair+red+eyes&seed=0&n=25&cols=5&scale=2&grade=1")
        assert shown == {g: round(a, 2) for g, a in api["grade"]["accuracy"].items()}
        assert "grade=1" in driver.current_url
        shown_src = driver.find_element(By.ID, "grid-0").get_attribute("src")
        assert shown_src == api["image"]

        # the link reproduces the picture
        driver.get(driver.current_url)
        wait.until(
            lambda d: d.execute_script(
                "const i = document.getElementById('grid-0'); return i && i.complete && i.naturalWidth > 0;"
            )
        )
        assert driver.find_element(By.ID, "grid-0").get_attribute("src") == api["image"]
        assert (
            Select(driver.find_element(By.ID, "hair")).first_selected_option.get_attribute("value") == "blue"
        )

        # free text is parsed as the CLI parses it, errors inline
        box = driver.find_element(By.ID, "tags")
        box.clear()
        box.send_keys("bleu hair")
        error = wait.until(lambda d: d.find_element(By.ID, "tags-error").text)
        assert "unknown tag 'bleu hair'; closest known tags: blue hair" in error

        # side by side with the same seed
        box.clear()
        box.send_keys("green hair yellow eyes")
        driver.find_element(By.ID, "compare").click()
        driver.find_element(By.ID, "generate").click()
        wait.until(
            lambda d: d.execute_script(
                "const i = document.getElementById('grid-1'); return i && i.complete && i.naturalWidth > 0;"
            )
        )
        assert "model2=runs%2Fr1%2Fexport" in driver.current_url
        labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#results .model-label")]
        assert labels[0].startswith("models/default") and labels[1].startswith("runs/r1/export · step 300")

        driver.find_element(By.ID, "sweep-hair").click()
        wait.until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sweeps figure img")) == 2
        )  # one per model
        driver.find_element(By.ID, "interpolate").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#strips figure img"))
        # no script errors (the 400 of the mistyped tags above is a network entry)

        # recolour a face picked from disk (the upload is kept in the studio's memory)
        face = tmp_path / "mine.png"
        face.write_bytes(face_png)
        driver.find_element(By.ID, "edit-from").send_keys("blue hair red eyes")
        driver.find_element(By.ID, "face-file").send_keys(str(face))  # picking a file starts the edit
        caption = WebDriverWait(driver, 300).until(
            lambda d: d.find_elements(By.ID, "edit-caption") and d.find_element(By.ID, "edit-caption").text
        )
        assert caption == "mine.png: blue hair red eyes (given) -> green hair red eyes"
        for image_id in (
            "edit-original",
            "edit-reconstruction",
            "edit-image",
            "edit-sweep-hair",
            "edit-sweep-eyes",
        ):
            assert driver.execute_script(
                f"const i = document.getElementById('{image_id}');return i.complete && i.naturalWidth > 0;"
            ), image_id
        assert driver.find_element(By.ID, "edit-error").text == ""
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e["source"] != "network"]
        assert severe == []
    finally:
        driver.quit()


def _image_loaded(driver, image_id) -> bool:
    return driver.execute_script(
        f"const i = document.getElementById('{image_id}');return !!(i && i.complete && i.naturalWidth > 0);"
    )


@pytest.mark.slow
def test_page_follows_its_link_in_headless_chromium(server):
    """A link's panes come in the link's order whatever answers first; the grade box stays usable for a
    model without a checker; truncation is a control the link keeps; sweeps stay, labelled as the CLI's."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _browser()
    try:
        wait = WebDriverWait(driver, 90)
        # runs/r3/export was never loaded: it answers after models/default, yet it is the left pane
        driver.get(
            _url(
                server,
                "/?model=runs%2Fr3%2Fexport&model2=models%2Fdefault&tags=green+hair+red+eyes"
                "&seed=2&n=4&cols=4&scale=1&grade=1&truncation=0.8",
            )
        )
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
        wait.until(lambda d: _image_loaded(d, "grid-0") and _image_loaded(d, "grid-1"))
        panes = driver.find_elements(By.CSS_SELECTOR, "#results > *")
        assert [p.get_attribute("id") for p in panes] == ["pane-0", "pane-1"]
        labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#results .model-label")]
        assert labels[0].startswith("runs/r3/export") and labels[1].startswith("models/default")
        # the model without a checker is drawn ungraded with a hint; the other one is graded
        grade = driver.find_element(By.ID, "grade")
        assert grade.is_enabled() and grade.is_selected()
        assert "runs/r3/export" in driver.find_element(By.ID, "grade-note").text
        assert driver.find_element(By.CSS_SELECTOR, "#pane-0 .pane-error").text == ""
        assert driver.find_element(By.ID, "accuracy-0").text == ""
        assert "hair" in driver.find_element(By.ID, "accuracy-1").text
        _, graded = get_json(
            server,
            "/api/grid?model=models/default&tags=green+hair+red+eyes&seed=2&n=4&cols=4"
            "&scale=1&grade=1&truncation=0.8",
        )
        assert driver.find_element(By.ID, "grid-1").get_attribute("src") == graded["image"]
        _, plain = get_json(
            server,
            "/api/grid?model=runs/r3/export&tags=green+hair+red+eyes&seed=2&n=4&cols=4"
            "&scale=1&truncation=0.8",
        )
        assert driver.find_element(By.ID, "grid-0").get_attribute("src") == plain["image"]
        grade.click()  # it can be unticked, and the hint goes
        wait.until(lambda d: d.find_element(By.ID, "grade-note").text == "")
        assert "grade=1" not in driver.current_url and "truncation=0.8" in driver.current_url
        assert driver.find_element(By.ID, "truncation").get_attribute("value") == "0.8"

        # two sweeps stay on the page, the newest first, each the picture of the API (labelled)
        driver.find_element(By.ID, "compare").click()  # back to one model
        driver.find_element(By.ID, "sweep-eyes").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sweeps figure img")) == 1)
        seed = driver.find_element(By.ID, "seed")
        seed.clear()
        seed.send_keys("7")
        driver.find_element(By.ID, "sweep-hair").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sweeps figure img")) == 2)
        captions = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#sweeps figcaption")]
        assert "hair sweep" in captions[0] and "seed 7" in captions[0] and "eyes sweep" in captions[1]
        rows = driver.find_element(By.ID, "rows").get_attribute("value")
        _, sweep = get_json(
            server,
            f"/api/sweep?model=runs/r3/export&group=hair&tags=green+hair+red+eyes"
            f"&rows={rows}&seed=7&scale=1&truncation=0.8",
        )
        assert (
            driver.find_element(By.CSS_SELECTOR, "#sweeps figure img").get_attribute("src") == sweep["image"]
        )
        driver.find_element(By.CSS_SELECTOR, "#sweeps figure .close").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sweeps figure img")) == 1)
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e["source"] != "network"]
        assert severe == []
    finally:
        driver.quit()
