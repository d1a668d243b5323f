"""Train the linear probe the safety checks read clauses with (signs.Probe), at build time.

A softmax over the signs and one "ordinary" class, on the sentence vectors of the signs'
examples (each sign its class) against the ordinary-question pool. Why a trained probe beside the
nearest-neighbour margin: a rule has ~50-80 examples and the pool ~3,000 questions; a linear
boundary learnt from all of them generalises to wordings that neither side holds, where a single
nearest neighbour follows whichever example happens to be closest. Each class weighs the same in
the loss whatever its size, so a rule with few examples is not drowned by the pool.

Plain full-batch gradient descent with momentum in numpy: convex, deterministic (zero start, a
fixed number of steps), under a second for this size; no training library needed.
"""

from __future__ import annotations

import numpy as np

SCALE = 5.0  # unit vectors scaled up: a sharper softmax, a better-conditioned problem
L2 = 1e-4  # weight decay
STEPS = 400
LEARNING_RATE = 1.0
MOMENTUM = 0.9
ORDINARY_SHARE = 0.5  # the ordinary class's share of the loss; the signs share the rest equally


def train_probe(examples: np.ndarray, owner: np.ndarray, signs: int, ordinary: np.ndarray) -> np.ndarray:
    """Weights (dimensions + 1, signs + 1) for signs.Probe: the last row is the bias, the last
    column the ordinary class. ``owner[i]`` is the sign of ``examples[i]``."""
    x = np.concatenate([examples, ordinary]).astype(np.float32) * SCALE
    y = np.concatenate([owner, np.full(len(ordinary), signs)]).astype(np.int64)
    counts = np.bincount(y, minlength=signs + 1).astype(np.float64)
    per_class = np.where(np.arange(signs + 1) < signs, (1 - ORDINARY_SHARE) / max(1, signs), ORDINARY_SHARE)
    weight = (per_class / np.maximum(counts, 1))[y]
    weight /= weight.sum()
    target = np.eye(signs + 1, dtype=np.float32)[y]
    weight = weight.astype(np.float32)
    w = np.zeros((x.shape[1], signs + 1), dtype=np.float32)
    b = np.zeros(signs + 1, dtype=np.float32)
    step_w: np.ndarray = np.zeros_like(w)
    step_b: np.ndarray = np.zeros_like(b)
    for _ in range(STEPS):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - target) * weight[:, None]
        step_w = MOMENTUM * step_w - LEARNING_RATE * (x.T @ g + L2 * w)
        step_b = MOMENTUM * step_b - LEARNING_RATE * g.sum(axis=0)
        w += step_w
        b += step_b
    return np.vstack([w * SCALE, b]).astype(np.float32)
