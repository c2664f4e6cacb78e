"""NLU pipeline: named components, order given by configuration (CONVENTIONS habit 5, like rasa).

A component is a callable ``(message: Message) -> None`` that reads and writes fields of `Message`.
A factory builds one from keyword options: ``register_component("intent", factory)``; then
``Pipeline.from_config(["normalise", "language", {"name": "entities", "order_patterns": [...]}, "intent"])``.

Components "intent" and "sentiment" live in kefu.nlp.intent / kefu.nlp.sentiment, which register
themselves on import; `Pipeline.from_config` imports them on first use (see _PROVIDERS).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kefu.nlp.entities import Entity, extract_entities
from kefu.nlp.lang import detect_language
from kefu.nlp.normalise import normalise
from kefu.nlp.tokenise import tokenise


@dataclass
class Message:
    """What the pipeline knows about one customer message. `text` is never modified."""

    text: str
    now: datetime | None = None  # aware; for relative dates ("明天"); None = read kefu.core.clock
    tz: str = "Asia/Shanghai"
    normalised: str = ""
    language: str = ""
    tokens: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    intent: str | None = None
    intent_confidence: float = 0.0
    intent_ranking: list[tuple[str, float]] = field(default_factory=list)
    out_of_scope: bool = False
    sentiment: str | None = None
    sentiment_score: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # anything a custom component adds


NLUResult = Message

Component = Callable[[Message], None]
ComponentFactory = Callable[..., Component]


class PipelineConfigError(ValueError):
    """The pipeline configuration names an unknown component or gives it bad options."""


_REGISTRY: dict[str, ComponentFactory] = {}
_PROVIDERS: dict[str, str] = {"intent": "kefu.nlp.intent", "sentiment": "kefu.nlp.sentiment"}


def register_component(name: str, factory: ComponentFactory, *, replace: bool = False) -> None:
    """Make `name` usable in pipeline configs. Re-registering needs replace=True (catches typos twice)."""
    if name in _REGISTRY and not replace and _REGISTRY[name] is not factory:
        raise PipelineConfigError(f"NLP component {name!r} is already registered")
    _REGISTRY[name] = factory


def registered_components() -> list[str]:
    return sorted(set(_REGISTRY) | set(_PROVIDERS))


def _factory(name: str) -> ComponentFactory:
    if name not in _REGISTRY and name in _PROVIDERS:
        try:
            importlib.import_module(_PROVIDERS[name])
        except ImportError as exc:
            raise PipelineConfigError(f"NLP component {name!r} could not be loaded: {exc}") from exc
    if name not in _REGISTRY:
        known = ", ".join(registered_components())
        raise PipelineConfigError(f"unknown NLP component {name!r}; registered: {known}")
    return _REGISTRY[name]


ComponentSpec = str | Mapping[str, Any]


class Pipeline:
    def __init__(self, names: Sequence[str], components: Sequence[Component]) -> None:
        self.names = list(names)
        self.components = list(components)

    @classmethod
    def from_config(cls, config: Sequence[ComponentSpec]) -> Pipeline:
        names: list[str] = []
        components: list[Component] = []
        for spec in config:
            name, options = _parse_spec(spec)
            try:
                components.append(_factory(name)(**options))
            except TypeError as exc:
                raise PipelineConfigError(f"NLP component {name!r}: bad options {options}: {exc}") from exc
            names.append(name)
        return cls(names, components)

    def process(self, message: Message) -> Message:
        for component in self.components:
            component(message)
        return message

    def __call__(self, text: str, *, now: datetime | None = None, tz: str = "Asia/Shanghai") -> Message:
        return self.process(Message(text=text, now=now, tz=tz))


def _parse_spec(spec: ComponentSpec) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    options = dict(spec)
    name = options.pop("name", None)
    if not isinstance(name, str):
        raise PipelineConfigError(f"pipeline entry {dict(spec)!r} needs a 'name'")
    return name, options


DEFAULT_PIPELINE: list[ComponentSpec] = ["normalise", "language", "tokenise", "entities"]


# -- built-in components -----------------------------------------------------------------------------


def _normalise_factory() -> Component:
    def run(message: Message) -> None:
        message.normalised = normalise(message.text)

    return run


def _language_factory() -> Component:
    def run(message: Message) -> None:
        message.language = detect_language(message.text)

    return run


def _tokenise_factory(bigrams: bool = True) -> Component:
    def run(message: Message) -> None:
        message.tokens = tokenise(message.normalised or message.text, bigrams=bigrams)

    return run


def _entities_factory(order_patterns: list[str] | None = None) -> Component:
    def run(message: Message) -> None:
        message.entities = extract_entities(message.text, order_patterns=order_patterns, now=message.now, tz=message.tz)

    return run


register_component("normalise", _normalise_factory)
register_component("language", _language_factory)
register_component("tokenise", _tokenise_factory)
register_component("entities", _entities_factory)
