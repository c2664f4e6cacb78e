"""Few-shot intents: episodes built from fixture rows, the out-of-scope rule with 1, 3 and 10 examples per
intent, descriptions as extra examples, reused example embeddings, and the report on the model's own
examples (leave-one-out, confusions, suggestions). Real embedder, real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kefu.nlp.embed import get_embedder
from kefu.nlp.evaluation.data import DataError
from kefu.nlp.evaluation.episodes import domain_episodes, load_domain_rows, run_episodes
from kefu.nlp.intent import CALIBRATED, FEW_SHOT, SIMILARITY_FLOOR, IntentModel
from kefu.nlp.intent_report import CONFUSED, FEW, UNCHECKED, diagnose

FIXTURES = Path(__file__).parent / "fixtures"

INTENTS = {  # distinct requests, ten ways each; tests take the first k
    "refund": ["我要退款", "怎么退款", "申请退款", "退款多久到账", "把钱退给我", "I want a refund", "refund my order",
               "how do I get my money back", "退货退款", "钱什么时候退回来"],
    "shipping": ["快递到哪了", "我的包裹什么时候到", "物流信息", "查一下快递", "发货了吗", "where is my parcel",
                 "track my package", "when will it ship", "还没收到货", "配送要几天"],
    "invoice": ["开发票", "我要发票", "发票怎么开", "电子发票在哪下载", "能开专票吗", "I need an invoice",
                "send me the invoice", "invoice for my order", "发票抬头写错了", "补开发票"],
    "password": ["忘记密码", "重置密码", "密码登不上", "怎么改密码", "账号被锁了", "I forgot my password",
                 "reset my password", "can't log in", "登录密码错误", "修改登录密码"],
}  # fmt: skip


def _examples(k: int, intents: dict[str, list[str]] = INTENTS) -> list[tuple[str, str]]:
    return [(t, label) for label, texts in intents.items() for t in texts[:k]]


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = get_embedder()
        self.dim = self.inner.dim
        self.embedded: list[str] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def test_domain_episodes_take_k_support_rows_per_intent_of_one_domain() -> None:
    rows = load_domain_rows(FIXTURES / "fewshot_domains.jsonl")
    episodes = domain_episodes(rows, shots=3, episodes=3, seed=0)
    # music has one intent: no episode; the two others alternate in a seeded order
    assert [e.name for e in episodes] == [episodes[0].name, episodes[1].name, episodes[0].name]
    assert {e.name for e in episodes} == {"aircon", "weather"}
    for ep in episodes:
        domain_rows = [(r["text"], r["label"]) for r in rows if r["domain"] == ep.name]
        labels = sorted({label for _, label in domain_rows})
        assert sorted(ep.support + ep.query) == sorted(domain_rows)  # every row once, nothing from another domain
        assert not set(ep.support) & set(ep.query)
        assert [sum(1 for _, g in ep.support if g == label) for label in labels] == [3] * len(labels)
    assert domain_episodes(rows, shots=3, episodes=3, seed=0) == episodes  # seeded
    assert domain_episodes(rows, shots=3, episodes=3, seed=1)[0].support != episodes[0].support
    # an intent with no more than k rows keeps one for the query
    weather = domain_episodes(rows, shots=10, episodes=2, seed=0)
    ep = next(e for e in weather if e.name == "weather")
    assert sorted(g for _, g in ep.query) == ["weather.AIR", "weather.QUERY"]


def test_episode_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "label": "x", "domain": "d"}\n{"text": "b", "label": "y"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: expected an object with string 'text', 'label' and 'domain'"):
        load_domain_rows(bad)
    with pytest.raises(ValueError, match="no domain has two intents"):
        domain_episodes([{"text": "a", "label": "x", "domain": "d"}], shots=1, episodes=1)


def test_episodes_score_model_and_baseline_on_their_own_support_rows() -> None:
    rows = load_domain_rows(FIXTURES / "fewshot_domains.jsonl")
    episodes = domain_episodes(rows, shots=3, episodes=2, seed=0)
    emb = get_embedder()
    trained: list[list[tuple[str, str]]] = []

    def train(support: list[tuple[str, str]]) -> IntentModel:
        trained.append(support)
        return IntentModel.train(support, embedder=emb)

    result = run_episodes(episodes, train, embedder=emb, progress=lambda line: None)
    assert trained == [e.support for e in episodes]
    per = result["per_episode"]
    assert [(r["name"], r["n_support"], r["n_query"]) for r in per] == [
        (e.name, len(e.support), len(e.query)) for e in episodes
    ]
    # on / off and air / weather: the model gets every query right and rejects nothing; TF-IDF misses the two
    # weather questions, which share no words with the support rows
    assert [(r["accuracy"], r["rejected"], r["oos_rule"]) for r in per] == [(1.0, 0.0, FEW_SHOT)] * 2
    assert {r["name"]: r["baseline_accuracy"] for r in per} == {"aircon": 1.0, "weather": 0.0}
    assert (result["accuracy"], result["rejected_share"], result["below_baseline"]) == (1.0, 0.0, 0)


@pytest.mark.parametrize("k", [1, 3])
def test_few_examples_use_the_fixed_rule_not_a_fitted_threshold(k: int) -> None:
    model = IntentModel.train(_examples(k))
    md = model.metadata
    assert (md.oos_rule, md.threshold, md.oos_margin, md.similarity_floor) == (FEW_SHOT, 0.0, 0.0, SIMILARITY_FLOOR)
    # in-domain questions worded unlike the examples are kept; only what is unlike every example is turned away
    asked = model.predict_batch(["退款多久能到账呢", "快递还没到", "发票开错了", "who won the football game"])
    assert [p.label for p in asked] == ["refund", "shipping", "invoice", None]
    assert [p.is_oos for p in asked] == [False, False, False, True]
    # the floor is the nearest example's cosine similarity (0.82), whatever the probabilities say
    vectors = get_embedder().embed_queries(["who won the football game"])
    train_vectors = get_embedder().embed_queries([t for t, _ in _examples(k)])
    assert float((vectors @ train_vectors.T).max()) < SIMILARITY_FLOOR


def test_few_examples_with_an_out_of_scope_intent_reject_when_it_wins() -> None:
    oos = ["给我讲个笑话", "今天天气怎么样", "推荐一部电影", "股票会涨吗", "tell me a joke", "what's the weather"]
    model = IntentModel.train(_examples(3) + [(t, "oos") for t in oos], oos_label="oos")
    md = model.metadata
    assert (md.oos_rule, md.threshold, md.oos_margin, md.oos_label) == (FEW_SHOT, 0.0, 0.0, "oos")
    joke, refund = model.predict_batch(["讲个笑话听听", "我想退款"])
    assert (joke.label, joke.is_oos, joke.ranking[0][0]) == (None, True, "oos")
    assert (refund.label, refund.is_oos) == ("refund", False)


def test_five_or_more_examples_per_intent_calibrate_the_rule() -> None:
    calibrated = IntentModel.train(_examples(10))  # ten per intent: a held-out slice of two per intent
    assert (calibrated.metadata.oos_rule, calibrated.metadata.similarity_floor) == (CALIBRATED, 0.0)
    assert calibrated.metadata.threshold > 0.0
    # the median intent decides: two intents of 10 and one of 3 calibrate, one of 10 and two of 3 do not
    mixed = {**{k: v for k, v in list(INTENTS.items())[:2]}, "invoice": INTENTS["invoice"][:3]}
    assert IntentModel.train(_examples(10, mixed)).metadata.oos_rule == CALIBRATED
    few = {"refund": INTENTS["refund"], "shipping": INTENTS["shipping"][:3], "invoice": INTENTS["invoice"][:3]}
    assert IntentModel.train(_examples(10, few)).metadata.oos_rule == FEW_SHOT


def test_what_an_intent_is_adds_examples_to_an_intent_with_few() -> None:
    examples = [("我要退款", "refund"), ("快递到哪了", "shipping"), ("物流信息", "shipping")]
    extras = {"refund": ["refund: money back, return an order", "我要退款"], "other": ["not an intent here"]}
    described = IntentModel.train(examples, extra_examples=extras)
    assert described.metadata.n_examples == 4  # the description; the repeated example and unknown intents are not
    assert described.predict("how do I get my money back").label == "refund"
    plenty = _examples(5)  # five examples each: nothing is added
    assert IntentModel.train(plenty, extra_examples={"refund": ["money back"]}).metadata.n_examples == len(plenty)


def test_a_retraining_embeds_only_new_examples() -> None:
    emb = CountingEmbedder()
    first = IntentModel.train(_examples(3), embedder=emb)
    assert sorted(emb.embedded) == sorted(t for t, _ in _examples(3))
    known = IntentModel.from_bytes(first.to_bytes(), embedder=emb).training_vectors()
    assert sorted(known) == sorted(t for t, _ in _examples(3))
    emb.embedded.clear()
    second = IntentModel.train(_examples(4), embedder=emb, known_vectors=known)
    assert sorted(emb.embedded) == sorted(texts[3] for texts in INTENTS.values())
    fresh = IntentModel.train(_examples(4), embedder=get_embedder())
    probe = ["退款多久到账", "where is my parcel", "发票抬头", "密码忘了"]
    assert [p.label for p in second.predict_batch(probe)] == [p.label for p in fresh.predict_batch(probe)]


def test_the_report_lists_near_duplicate_intents_as_confused() -> None:
    intents = {
        "refund": INTENTS["refund"][:5],
        # a near duplicate: the same requests, reworded
        "money_back": ["我要退钱", "怎么退钱", "申请退钱", "退钱多久到账", "把钱还给我"],
        "shipping": INTENTS["shipping"][:5],
        "invoice": INTENTS["invoice"][:2],
        "password": INTENTS["password"][:1],
    }
    texts = [t for texts in intents.values() for t in texts]
    labels = [label for label, texts in intents.items() for _ in texts]
    report = diagnose(texts, get_embedder().embed_queries(texts), labels)
    assert report.method == "leave-one-out"
    health = {h.label: h for h in report.intents}
    assert (health["shipping"].examples, health["shipping"].checked, health["shipping"].accuracy) == (5, 5, 1.0)
    assert (health["password"].checked, health["password"].accuracy) == (0, None)  # one example: cannot be left out
    pairs = {(c.label, c.taken_for) for c in report.confusions}
    assert pairs & {("refund", "money_back"), ("money_back", "refund")}
    assert not {p for p in pairs if "shipping" in p}
    for c in report.confusions:
        assert c.questions and all(q in intents[c.label] for q in c.questions)
        assert c.count == sum(1 for q in c.questions) or c.count > len(c.questions)
    reasons = {(s.label, s.reason) for s in report.suggestions}
    assert ("password", UNCHECKED) in reasons
    assert ("invoice", FEW) in reasons
    confused = [s for s in report.suggestions if s.reason == CONFUSED]
    assert {(s.label, s.other) for s in confused} <= pairs
    assert not any(s.label == "shipping" for s in report.suggestions)
