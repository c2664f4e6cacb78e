"""kefu (客服) — open-source, self-hostable AI customer-service platform."""

from kefu.nlp.threads import openmp_defaults as _thread_defaults

__version__ = "0.1.0"

# The numeric libraries read their thread settings when they load, so kefu sets its defaults (two passive
# OpenMP threads for the embedding model, one BLAS thread; an operator's own values win) before any of its
# modules imports numpy — the one thing kefu does at import time. See kefu.nlp.threads.
_thread_defaults()
