"""The process's one embedder, built from Settings (KEFU_EMBEDDER, KEFU_EMBEDDER_MODEL,
KEFU_EMBEDDER_API_KEY, KEFU_EMBEDDER_THREADS). `create_app` keeps it on the app state and hands it to the
bot and the knowledge index, the worker to its jobs, the CLI to what it runs — so the vector the bot
computes for a message is the one the knowledge index searches with. Built on first use: a process
that never embeds never loads a model."""

from __future__ import annotations

from kefu.nlp.embed import Embedder, LazyEmbedder, make_embedder
from kefu.settings import Settings


def embedder_from_settings(settings: Settings) -> Embedder:
    def build() -> Embedder:
        return make_embedder(
            settings.embedder,
            model=settings.embedder_model,
            api_key=settings.embedder_api_key or None,
            threads=settings.embedder_threads,
        )

    return LazyEmbedder(build, description=settings.embedder)
