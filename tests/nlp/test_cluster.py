"""kefu.nlp.cluster: exact groups on fixed vectors, and on real embeddings of reworded questions."""

from __future__ import annotations

import numpy as np

from kefu.nlp.cluster import cluster_rows
from kefu.nlp.embed import bundled_embedder, l2_normalise


def test_groups_medoid_first_largest_first_and_singletons_dropped() -> None:
    v = l2_normalise(
        np.array(
            [
                [1.0, 0.0, 0.0],  # 0  group A
                [0.0, 1.0, 0.0],  # 1  group B
                [0.9, 0.3, 0.0],  # 2  A
                [0.0, 0.0, 1.0],  # 3  alone
                [0.99, 0.1, 0.0],  # 4  A (between 0 and 2: the medoid)
                [0.1, 0.99, 0.0],  # 5  B
            ]
        )
    )
    assert cluster_rows(v, min_similarity=0.95) == [[4, 0, 2], [1, 5]]
    assert cluster_rows(v, min_similarity=0.95, min_size=1) == [[4, 0, 2], [1, 5], [3]]
    assert cluster_rows(v[:1], min_size=1) == [[0]]
    assert cluster_rows(v[:0]) == []


def test_reworded_questions_group_and_other_questions_do_not() -> None:
    texts = [
        "可以开发票吗",
        "你们周末上班吗",
        "能开发票吗？",
        "请问可以开发票吗",
        "How do I change my delivery address?",
        "Can I change the delivery address?",
    ]
    groups = cluster_rows(bundled_embedder().embed_queries(texts))
    assert sorted(sorted(g) for g in groups) == [[0, 2, 3], [4, 5]]
