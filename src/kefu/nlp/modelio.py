"""Versioned, restricted serialisation of trained NLP models (intent, sentiment).

Format: the magic line `KEFU-MODEL <kind> <format-version>\\n`, then a pickle of plain data: dicts, lists,
numpy arrays, scipy sparse matrices and scikit-learn estimators. Loading goes through an unpickler that
only resolves classes from numpy, scipy, sklearn and a few builtins, so a model file cannot name arbitrary
code to run. Model files are still meant to come from the platform itself (the account's trained models),
not from untrusted uploads.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

_MAGIC = b"KEFU-MODEL"
_ALLOWED_ROOTS = ("numpy", "scipy", "sklearn")
_ALLOWED_BUILTINS = {
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "str",
    "int",
    "float",
    "bool",
    "slice",
    "complex",
    "bytes",
    "bytearray",
    "object",
}


class ModelFormatError(ValueError):
    """The bytes are not a kefu model of the expected kind and version."""


def dump(kind: str, version: int, payload: dict[str, Any]) -> bytes:
    header = b"%s %s %d\n" % (_MAGIC, kind.encode(), version)
    return header + pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


def load(data: bytes, kind: str, version: int) -> dict[str, Any]:
    header, _, body = data.partition(b"\n")
    parts = header.split(b" ")
    if len(parts) != 3 or parts[0] != _MAGIC or parts[1] != kind.encode():
        raise ModelFormatError(f"not a kefu {kind} model")
    if parts[2] != str(version).encode():
        raise ModelFormatError(
            f"{kind} model format {parts[2].decode(errors='replace')} "
            f"is not supported (expected {version}); retrain the model"
        )
    payload = _RestrictedUnpickler(io.BytesIO(body)).load()
    if not isinstance(payload, dict):
        raise ModelFormatError(f"{kind} model payload is not a mapping")
    return payload


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        root = module.split(".", 1)[0]
        if root in _ALLOWED_ROOTS or (module == "builtins" and name in _ALLOWED_BUILTINS):
            return super().find_class(module, name)
        raise ModelFormatError(f"model file refers to {module}.{name}, which is not allowed")
