"""Group similar short texts (e.g. customers' questions the bot could not answer) by their embeddings.

Average-linkage agglomerative clustering on cosine distance (scikit-learn): two groups merge while the
mean similarity between their members stays ≥ `min_similarity`. With the bundled multilingual-e5-small,
rewordings of one question score ≳ 0.88 and different questions on the same topic ≲ 0.85.
"""

from __future__ import annotations

import numpy as np

DEFAULT_MIN_SIMILARITY = 0.88


def cluster_rows(
    vectors: np.ndarray, *, min_similarity: float = DEFAULT_MIN_SIMILARITY, min_size: int = 2
) -> list[list[int]]:
    """Groups of row indices of L2-normalised `vectors`, largest first (ties: earliest row first). In each
    group the rows are ordered by their mean similarity to the others, the most central (medoid) first."""
    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        groups = [[0]]
    else:
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=1.0 - min_similarity
        )
        labels = model.fit_predict(np.asarray(vectors, dtype=np.float64))
        by_label: dict[int, list[int]] = {}
        for row, label in enumerate(labels):
            by_label.setdefault(int(label), []).append(row)
        groups = list(by_label.values())
    out = []
    for rows in groups:
        if len(rows) < min_size:
            continue
        sims = vectors[rows] @ vectors[rows].T
        centrality = np.round(sims.sum(axis=1), 6)  # ties (e.g. a pair) go to the earlier row
        out.append([rows[i] for i in sorted(range(len(rows)), key=lambda i: (-centrality[i], rows[i]))])
    out.sort(key=lambda g: (-len(g), min(g)))
    return out
