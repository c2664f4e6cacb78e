"""What `kefu serve` and `kefu worker` set up before they start: logging (KEFU_LOG_FORMAT) and the shared
metrics directory of several worker processes (docs/operations.md "Logs", "Metrics")."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kefu.settings import Settings


def configure_logging(settings: Settings, level: str) -> dict[str, object]:
    """Configure this process's logging for KEFU_LOG_FORMAT; the config is returned for uvicorn to apply
    in its worker processes too."""
    import logging.config

    from kefu.core.logs import logging_config

    config = logging_config(settings.log_format, level)
    logging.config.dictConfig(config)
    return config


def prepare_metrics_dir() -> str:
    """Several worker processes share their metrics through files (prometheus-client's multiprocess mode):
    use PROMETHEUS_MULTIPROC_DIR when it is set, else a new private directory. Set before the workers start
    (they inherit it)."""
    from kefu.core.metrics import MULTIPROC_ENV

    path = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="kefu-metrics-")
    Path(path).mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = path
    return path
