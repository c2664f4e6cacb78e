"""What the inbox layer knows of each channel's settings: the schema an inbox's `config` must match and
the fields that are secrets. Filled by `kefu.channels.base.register` as adapters register (the adapters
themselves live in the messaging layer above)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

SECRET_MASK = "********"  # what the API shows for a stored secret; sent back, it keeps the secret


@dataclass(frozen=True)
class ChannelConfig:
    schema: type[BaseModel]
    secret_fields: frozenset[str] = frozenset()


CONFIGS: dict[str, ChannelConfig] = {}
