"""The in-command baseline every classification eval prints next to its model: TF-IDF + LinearSVC.

Word (1–2) + char_wb (1–5) n-gram TF-IDF of the normalised text, LinearSVC with C=1 — the usual strong
sparse baseline; no embeddings, no threshold (an OOS label, if any, is just another class).
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import LinearSVC

from kefu.nlp.textfeatures import SparseFeaturiser


class TfidfSvmBaseline:
    def __init__(self, featuriser: SparseFeaturiser, svm: LinearSVC) -> None:
        self.featuriser = featuriser
        self.svm = svm

    @classmethod
    def fit(cls, texts: list[str], labels: list[str]) -> TfidfSvmBaseline:
        featuriser = SparseFeaturiser()
        svm = LinearSVC(C=1.0).fit(featuriser.fit_transform(texts), np.asarray(labels))
        return cls(featuriser, svm)

    def predict(self, texts: list[str]) -> list[str]:
        return [str(label) for label in self.svm.predict(self.featuriser.transform(texts))]
