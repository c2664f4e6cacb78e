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
    def __init__(self, featuriser: SparseFeaturiser, svm: LinearSVC, vectors: np.ndarray,
                 label_index: np.ndarray, config: EnsembleConfig) -> None:
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

    @classmethod
    def fit(cls, texts: list[str], vectors: np.ndarray, labels: list[str],
            config: EnsembleConfig) -> IntentEnsemble:
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
        x = _join(self.featuriser.transform(texts), vectors, cfg.dense_weight)
        scores = self.svm.decision_function(x)
        if scores.ndim == 1:  # binary LinearSVC returns one column
            scores = np.stack([-scores, scores], axis=1)
        p_svm = softmax(scores * cfg.svm_temperature, axis=1)
        if cfg.knn_weight <= 0:
            return p_svm
        p_knn = softmax(self._knn(vectors) * cfg.knn_temperature, axis=1)
        return (1 - cfg.knn_weight) * p_svm + cfg.knn_weight * p_knn

    def _knn(self, vectors: np.ndarray) -> np.ndarray:
        sims = vectors.astype(np.float32) @ self._grouped.T
        out = np.full((len(vectors), len(self.classes)), -1.0, dtype=np.float32)
        for j, (start, end) in enumerate(zip(self._bounds[:-1], self._bounds[1:], strict=True)):
            k = min(self.config.knn_top, end - start)
            if k:
                block = sims[:, start:end]
                out[:, j] = np.partition(block, end - start - k, axis=1)[:, -k:].mean(axis=1)
        return out

    def state(self) -> dict[str, Any]:
        return {"featuriser": self.featuriser.state(), "svm": self.svm, "vectors": self.vectors,
                "label_index": self.label_index, "config": self.config.__dict__.copy()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> IntentEnsemble:
        featuriser = SparseFeaturiser.from_state(state["featuriser"])
        return cls(featuriser, state["svm"], state["vectors"], state["label_index"],
                   EnsembleConfig(**state["config"]))


def _join(sparse: sp.csr_matrix, vectors: np.ndarray, weight: float) -> sp.csr_matrix:
    return sp.hstack([sparse, sp.csr_matrix(vectors.astype(np.float32) * weight)]).tocsr()
