"""Normalisation, language detection, tokenisation and the component pipeline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kefu.nlp.lang import detect_language
from kefu.nlp.normalise import nfkc, normalise
from kefu.nlp.pipeline import Message, Pipeline, PipelineConfigError, register_component
from kefu.nlp.tokenise import stem, tokenise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("請問我的訂單什麼時候發貨？", "请问我的订单什么时候发货?"),
        ("ＡＢＣ１２３　ｏｒｄｅｒ", "abc123 order"),
        ("  Where   IS my\tParcel ", "where is my parcel"),
        ("退款", "退款"),
        ("", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected
    assert normalise(expected) == expected  # idempotent


def test_nfkc_keeps_script_and_case() -> None:
    assert nfkc("ＳＦ１２３ 訂單") == "SF123 訂單"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我的订单SF1234567890还没到", "zh"),
        ("我的訂單什麼時候到", "zh"),
        ("请问 iPhone 15 的价格", "zh"),
        ("Where is my parcel?", "en"),
        ("Please help me check my refund status, thanks 谢谢", "en"),
        ("我想 cancel my order", "mixed"),
        ("Hello 你好", "mixed"),
        ("東京に行きたいです", "other"),
        ("Привет, как дела", "other"),
        ("12345 !!", "other"),
        ("", "other"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("refunds", "refund"),
        ("refunded", "refund"),
        ("refunding", "refund"),
        ("charges", "charg"),
        ("charged", "charg"),
        ("charge", "charg"),
        ("applies", "appli"),
        ("apply", "appli"),
        ("transferring", "transfer"),
        ("billing", "bill"),
        ("address", "address"),
        ("status", "status"),
        ("sf123", "sf123"),
        ("top", "top"),
    ],
)
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_tokenise_chinese_words_and_bigrams_traditional_input() -> None:
    assert tokenise("訂單什麼時候到貨？") == [
        "订单",
        "什么",
        "时候",
        "到货",
        "订单",
        "单什",
        "什么",
        "么时",
        "时候",
        "候到",
        "到货",
    ]
    assert tokenise("我的快递", bigrams=False) == ["我", "快递"]


def test_tokenise_english_stopwords_and_stems() -> None:
    assert tokenise("I was charged TWICE for my card payments!") == ["charg", "twic", "card", "payment"]


def test_tokenise_mixed_and_full_width() -> None:
    assert tokenise("ＳＦ１２３ 的快递 can't arrive") == ["sf123", "快递", "的快", "快递", "can't", "arriv"]


def test_jieba_loads_quietly() -> None:
    code = "from kefu.nlp.tokenise import tokenise; print(tokenise('快递到了吗'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['快递', '到', '快递', '递到', '到了', '了吗']"
    assert done.stderr == ""


def test_pipeline_runs_components_in_configured_order() -> None:
    pipeline = Pipeline.from_config(["normalise", "language", {"name": "tokenise", "bigrams": False}])
    message = pipeline("請問快遞到了嗎")
    assert pipeline.names == ["normalise", "language", "tokenise"]
    assert (message.text, message.normalised, message.language) == ("請問快遞到了嗎", "请问快递到了吗", "zh")
    assert message.tokens == ["快递", "到"]


def test_pipeline_unknown_component_is_a_clear_error() -> None:
    message = r"unknown NLP component 'spellcheck'; registered: entities, intent, "
    with pytest.raises(PipelineConfigError, match=message):
        Pipeline.from_config(["normalise", "spellcheck"])


def test_pipeline_bad_options_and_missing_name() -> None:
    with pytest.raises(PipelineConfigError, match=r"NLP component 'language': bad options \{'x': 1\}"):
        Pipeline.from_config([{"name": "language", "x": 1}])
    with pytest.raises(PipelineConfigError, match="needs a 'name'"):
        Pipeline.from_config([{"bigrams": True}])


def test_register_custom_component() -> None:
    def shout_factory(suffix: str = "!") -> object:
        def run(message: Message) -> None:
            message.extras["shout"] = message.normalised.upper() + suffix

        return run

    register_component("test_shout", shout_factory, replace=True)  # type: ignore[arg-type]
    message = Pipeline.from_config(["normalise", {"name": "test_shout", "suffix": "?"}])("Hi  there")
    assert message.extras == {"shout": "HI THERE?"}
    with pytest.raises(PipelineConfigError, match="'test_shout' is already registered"):
        register_component("test_shout", lambda: None)  # type: ignore[arg-type,return-value]


def test_pipeline_entities_component_uses_message_now_and_account_patterns() -> None:
    from datetime import UTC, datetime

    pipeline = Pipeline.from_config([{"name": "entities", "order_patterns": [r"KF\d{6}"]}])
    message = pipeline("工单KF123456 明天处理", now=datetime(2026, 3, 4, 2, 0, tzinfo=UTC))
    assert [(e.type, e.value) for e in message.entities] == [("order_id", "KF123456"), ("date", "2026-03-05")]
