"""The intent classifier ensemble: joint sparse+dense linear SVM blended with an embedding kNN vote.

Hyper-parameter defaults were chosen on a held-out 20 % slice of the BANKING77 *training* split
— never on a test split; see docs/nlp-intent-sentiment.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.svm import LinearSVC

from kefu.nlp.textfeatures import SparseConfig, SparseFeaturiser


@dataclass(frozen=True)
class EnsembleConfig:
    dense_weight: float = 4.0  # scale of the embedding block next to the TF-IDF blocks
    svm_c: float = 0.5
    svm_temperature: float = 5.0  # softmax(decision * T)
    knn_top: int = 3  # mean of the k best similarities per label
    knn_temperature: float = 30.0
    knn_weight: float = 0.3  # share of the kNN distribution in the blend


class IntentEnsemble:
    def __init__(
        self,
        featuriser: SparseFeaturiser,
        svm: LinearSVC,
        vectors: np.ndarray,
        label_index: np.ndarray,
        config: EnsembleConfig,
    ) -> None:
        self.featuriser = featuriser
        self.svm = svm
        self.vectors = vectors  # training embeddings (float16 to halve the model size)
        # for the kNN vote: float32 copies grouped by label, so each label's similarities are one slice
        order = np.argsort(label_index, kind="stable")
        self._grouped = vectors[order].astype(np.float32)
        self._bounds = np.searchsorted(label_index[order], np.arange(len(svm.classes_) + 1))
        self.label_index = label_index  # class index of each training vector
        self.config = config
        self.classes: np.ndarray = svm.classes_
        # for single messages: the SVM as plain arrays (scikit-learn's per-call checks cost more than the dot)
        n_sparse = featuriser.n_features
        self._coef_sparse = svm.coef_[:, :n_sparse]  # a view, no copy of the large sparse-feature weights
        self._coef_dense = np.ascontiguousarray(svm.coef_[:, n_sparse:] * config.dense_weight, dtype=np.float32)
        self._intercept = np.asarray(svm.intercept_, dtype=np.float64)
        # kNN vote in one pass: each label's similarity columns, padded to the largest label's size
        sizes = np.diff(self._bounds)
        offsets = np.arange(int(sizes.max(initial=0)))[None, :]
        self._knn_real = offsets < sizes[:, None]  # (n_classes, width): False = padding
        self._knn_columns = self._bounds[:-1, None] + np.where(self._knn_real, offsets, 0)
        self._knn_k = np.minimum(config.knn_top, sizes)

    @classmethod
    def fit(cls, texts: list[str], vectors: np.ndarray, labels: list[str], config: EnsembleConfig) -> IntentEnsemble:
        featuriser = SparseFeaturiser(SparseConfig())
        x = _join(featuriser.fit_transform(texts), vectors, config.dense_weight)
        svm = LinearSVC(C=config.svm_c).fit(x, np.asarray(labels))
        label_index = np.searchsorted(svm.classes_, np.asarray(labels))
        if config.knn_weight <= 0:  # no kNN vote: do not keep the training vectors in the model
            vectors, label_index = vectors[:0], label_index[:0]
        return cls(featuriser, svm, vectors.astype(np.float16), label_index, config)

    def proba(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """(n, n_classes) blended distribution over `self.classes`."""
        cfg = self.config
        scores = self._decision_one(texts[0], vectors) if len(texts) == 1 else self._decision(texts, vectors)
        if scores.shape[1] == 1:  # binary LinearSVC has one column
            scores = np.concatenate([-scores, scores], axis=1)
        p_svm = softmax(scores * cfg.svm_temperature, axis=1)
        if cfg.knn_weight <= 0:
            return p_svm
        p_knn = softmax(self._knn(vectors) * cfg.knn_temperature, axis=1)
        return (1 - cfg.knn_weight) * p_svm + cfg.knn_weight * p_knn

    def _decision(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        x = _join(self.featuriser.transform(texts), vectors, self.config.dense_weight)
        return np.asarray(x @ self.svm.coef_.T) + self._intercept

    def _decision_one(self, text: str, vectors: np.ndarray) -> np.ndarray:
        """`_decision([text], vectors)` as plain numpy: the sparse row times the columns of its n-grams."""
        idx, values = self.featuriser.transform_one(text)
        sparse = self._coef_sparse[:, idx] @ values.astype(np.float64)
        dense = self._coef_dense @ vectors[0].astype(np.float32) if self._coef_dense.shape[1] else 0.0
        return (sparse + dense + self._intercept)[None, :]

    def nearest(self, vectors: np.ndarray) -> np.ndarray:
        """Per row, the cosine similarity of the most similar training example (1.0 when none are kept)."""
        if not len(self._grouped):
            return np.ones(len(vectors), dtype=np.float32)
        return np.asarray((vectors.astype(np.float32) @ self._grouped.T).max(axis=1))

    def _knn(self, vectors: np.ndarray) -> np.ndarray:
        """Per label, the mean of its `knn_top` best cosine similarities (fewer if it has fewer examples)."""
        sims = vectors.astype(np.float32) @ self._grouped.T  # (n, n_train)
        if not self._knn_columns.size:
            return np.full((len(vectors), len(self.classes)), -1.0, dtype=np.float32)
        k_max, k = int(self._knn_k.max()), np.maximum(self._knn_k, 1)
        per_label = np.where(self._knn_real, sims[:, self._knn_columns], -np.inf)  # (n, n_classes, width)
        width = per_label.shape[2]
        top = -np.sort(-np.partition(per_label, width - k_max, axis=2)[:, :, width - k_max :], axis=2)
        means = np.cumsum(top, axis=2)[:, np.arange(len(self.classes)), k - 1] / k
        return np.where(self._knn_k > 0, means, -1.0).astype(np.float32)

    def state(self) -> dict[str, Any]:
        return {
            "featuriser": self.featuriser.state(),
            "svm": self.svm,
            "vectors": self.vectors,
            "label_index": self.label_index,
            "config": self.config.__dict__.copy(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> IntentEnsemble:
        featuriser = SparseFeaturiser.from_state(state["featuriser"])
        return cls(featuriser, state["svm"], state["vectors"], state["label_index"], EnsembleConfig(**state["config"]))


def _join(sparse: sp.csr_matrix, vectors: np.ndarray, weight: float) -> sp.csr_matrix:
    return sp.hstack([sparse, sp.csr_matrix(vectors.astype(np.float32) * weight)]).tocsr()
