"""Two or more encoders side by side: their unit vectors joined and scaled by 1/sqrt(n).

The dot product of two joined vectors is then the mean of each model's cosine, so a phrase pair one
model reads well (Indonesian for a multilingual model, English for MiniLM) keeps part of its score
whatever the other says. Every text is encoded by every part.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sepadan.features.encoders.common import unit_rows


class JoinedEncoder:
    def __init__(self, parts: Sequence[object]) -> None:
        if len(parts) < 2:
            raise ValueError("a joined encoder needs at least two parts")
        self.parts = tuple(parts)
        self.name = "joined(" + ",".join(p.name for p in self.parts) + ")"  # type: ignore[attr-defined]
        self.dim = sum(int(p.dim) for p in self.parts)  # type: ignore[attr-defined]
        self.licence = "; ".join(getattr(p, "licence", "?") for p in self.parts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        joined = np.hstack([p.encode(texts) for p in self.parts])  # type: ignore[attr-defined]
        return unit_rows(joined)
