"""The studio with a model that has other tags (glasses, hat, smile, ...; tests/tagged_support.py's,
its generator untrained): the page builds an on/off box and a sweep button per other tag from
/api/vocab, a drawing request carries the tags asked and draws other faces than without them, as
generate.py does, and a sweep over an other tag has a column without it and one with it."""

import io
import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.tagged_support import SIZE, tagged_model

STATIC = ROOT / "studio" / "static"
pytestmark = pytest.mark.slow  # the tagged model's fixture: a face set, its cache and a generator (~9 s)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio-tags") / "project"
    shutil.copytree(tagged_model(tmp_path_factory), root / "models" / "tagged")
    return root


class Live:
    def __init__(self, port, model):
        self.port, self.model = port, model


@pytest.fixture(scope="module")
def server(project):
    """The studio in this process (the model has no generator.tflite: Keras draws it)."""
    from studio import make_server

    srv = make_server("127.0.0.1", 0, root=project)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    assert srv.studio.default_id == "models/tagged"
    yield Live(srv.server_address[1], project / "models" / "tagged")
    srv.shutdown()
    srv.server_close()


def get(server, path):
    """(status, headers, body) without raising on 4xx."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get_json(server, path):
    status, _, body = get(server, path)
    return status, json.loads(body)


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_the_page_has_a_control_and_a_sweep_per_other_tag(server):
    """The page's own script, run in Node against this studio (tests/studio_page_harness.js): it builds a
    box and a sweep button per other tag of /api/vocab, a box turned on goes into the tags drawn, and
    the tag's button sweeps it."""
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed (the page's script runs in Node here)")
    status, vocab = get_json(server, "/api/vocab")
    assert status == 200
    assert vocab["other_tags"] == [
        "blush",
        "glasses",
        "hat",
        "long hair",
        "open mouth",
        "short hair",
        "smile",
    ]
    result = subprocess.run(
        [
            node,
            str(ROOT / "tests" / "studio_page_harness.js"),
            str(STATIC / "studio.js"),
            str(server.port),
            "glasses",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["boxes"] == page["buttons"] == vocab["other_tags"]
    assert page["tags"] == "blue hair red eyes glasses"  # the pickers' colours and the box turned on
    assert "tags=blue+hair+red+eyes+glasses" in page["gridRequest"]
    assert page["cells"] == ["blue hair red eyes glasses"] * 25
    assert "group=glasses" in page["sweepRequest"] and page["sweepError"] is None
    assert page["sweepCaption"] == "models/tagged · glasses sweep with blue hair red eyes glasses, seed 0"


def test_a_request_with_an_other_tag_draws_it_as_generate_does(server, tmp_path, monkeypatch):
    from generate import main

    status, parsed = get_json(server, "/api/parse?tags=Glasses,+blue+hair")
    assert status == 200 and parsed["extras"] == ["glasses"] and parsed["text"] == "blue hair glasses"
    status, data = get_json(server, "/api/grid?tags=blue+hair+red+eyes+glasses&n=4&cols=2&seed=3")
    assert status == 200 and data["cells"] == ["blue hair red eyes glasses"] * 4
    assert data["filename"] == "blue_hair_red_eyes_glasses_seed3_n4.png"
    _, _, with_glasses = get(server, "/api/grid.png?tags=blue+hair+red+eyes+glasses&n=4&cols=2&seed=3")
    _, _, without = get(server, "/api/grid.png?tags=blue+hair+red+eyes&n=4&cols=2&seed=3")
    with_glasses, without = pixels(with_glasses), pixels(without)
    assert with_glasses.shape == without.shape == (2 * (SIZE + 2) + 2,) * 2 + (3,)
    assert np.abs(with_glasses.astype(int) - without).mean() > 0.5
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "--model",
                str(server.model),
                "--tags",
                "blue hair red eyes glasses",
                "--n",
                "4",
                "--cols",
                "2",
                "--seed",
                "3",
                "--out",
                "cli.png",
            ]
        )
        == 0
    )
    assert np.abs(pixels((tmp_path / "cli.png").read_bytes()).astype(int) - with_glasses).max() <= 1


def test_a_sweep_over_an_other_tag(server, tmp_path, monkeypatch):
    from generate import main

    status, data = get_json(server, "/api/sweep?group=glasses&tags=red+hair&rows=2")
    assert status == 200 and data["kind"] == "tag" and data["columns"] == ["no glasses", "glasses"]
    assert len(data["rows"]) == 2 and all(re.fullmatch(r"red hair \w+ eyes", r) for r in data["rows"])
    assert data["filename"] == "sweep_glasses_red_hair_n2.png"
    _, headers, body = get(server, "/api/sweep.png?group=glasses&tags=red+hair&rows=2&seed=4")
    assert 'filename="sweep_glasses_red_hair_seed4_n2.png"' in headers["Content-Disposition"]
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "--model",
                str(server.model),
                "--sweep",
                "glasses",
                "--tags",
                "red hair",
                "--n",
                "2",
                "--seed",
                "4",
                "--out",
                "cli.png",
            ]
        )
        == 0
    )
    cli, studio = pixels((tmp_path / "cli.png").read_bytes()), pixels(body)
    assert cli.shape == studio.shape and np.abs(cli.astype(int) - studio).max() <= 1
    status, data = get_json(server, "/api/sweep?group=Long+Hair&rows=1")
    assert status == 200 and data["group"] == "long hair" and data["filename"] == "sweep_long_hair_n1.png"
    status, data = get_json(server, "/api/sweep?group=hair&rows=1")
    assert data["kind"] == "group" and data["columns"] == ["blue", "red"]
    status, data = get_json(server, "/api/sweep?group=wings")
    assert status == 400 and data["param"] == "group"
    assert "groups are hair, eyes; its other tags are blush, glasses, hat" in data["error"]
