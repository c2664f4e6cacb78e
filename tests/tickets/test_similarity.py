"""The repeat-contact decision (tickets/similarity.py) on exact vectors, and the threshold on the bundled
embedder's scores for the examples documented in docs/tickets.md."""

from __future__ import annotations

import numpy as np
import pytest

from kefu.nlp.embed import get_embedder
from kefu.tickets.similarity import THRESHOLD, Match, best_match


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_the_best_text_of_the_best_ticket_at_or_above_the_threshold_wins() -> None:
    msg = _unit(1, 0)
    far, near, nearer = _unit(0, 1), _unit(1, 0.3), _unit(1, 0.1)  # cosines 0, 0.9578, 0.9950
    assert best_match(msg, [(1, np.stack([far, near])), (2, np.stack([nearer]))]) == Match(2, 0.995)
    assert best_match(msg, [(1, np.stack([far]))]) is None
    assert best_match(msg, [(1, np.zeros((0, 2), dtype=np.float32))]) is None
    assert best_match(msg, [(7, np.stack([near])), (8, np.stack([near]))]) == Match(7, 0.9578)  # tie: first listed


SAME = [
    ("我的订单还没有发货，已经等了一周了", "订单一周未发货"),
    ("你好，上次说的退款到现在还没到账", "退款未到账"),
    ("退款还没收到，什么时候能到？", "申请退款后一直没有到账"),
    ("密码忘了怎么办", "无法登录账号，忘记密码"),
    ("The refund is still not in my account", "Refund not received"),
]
DIFFERENT = [
    ("我想修改收货地址", "退款未到账"),
    ("你们的营业时间是几点？", "订单一周未发货"),
    ("发票开错了，抬头写错了", "退款未到账"),
    ("How do I reset my password?", "Refund not received"),
    ("你好", "订单一周未发货"),
]


@pytest.mark.parametrize(("message", "ticket"), SAME)
def test_same_issue_pairs_reach_the_threshold(message: str, ticket: str) -> None:
    v = get_embedder().embed_queries([message, ticket])
    assert float(v[0] @ v[1]) >= THRESHOLD


@pytest.mark.parametrize(("message", "ticket"), DIFFERENT)
def test_different_issue_pairs_stay_below_it(message: str, ticket: str) -> None:
    v = get_embedder().embed_queries([message, ticket])
    assert float(v[0] @ v[1]) < THRESHOLD
