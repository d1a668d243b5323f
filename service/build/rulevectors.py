"""Emergency rules not yet built into a version (``healthfaq check-rules --rules FILE``): their
phrases embedded and their probe trained now, as the build would, so an editor can score a change
before publishing it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from service.build.probe import train_probe
from service.safety.signs import Contrast, Policy, Probe, example_owners, example_phrases, unlike_phrases
from service.safety.urgent import POLICY, UrgentDetector, UrgentRule, rule_signs


def embedded_detector(
    rules: Sequence[UrgentRule], embed: Callable[[str], np.ndarray], ordinary: Contrast, policy: Policy = POLICY
) -> UrgentDetector:
    """A detector for rules not yet built into a version (check-rules): their phrases embedded now."""
    signs = rule_signs(rules)
    examples = _embed_all(example_phrases(signs), embed, ordinary.vectors.shape[1])
    unlike = _embed_all(unlike_phrases(signs), embed, ordinary.vectors.shape[1])
    probe = Probe(train_probe(examples, example_owners(signs), len(signs), np.concatenate([ordinary.vectors, unlike])))
    return UrgentDetector(rules, examples, unlike, ordinary, probe, policy)


def _embed_all(texts: list[str], embed: Callable[[str], np.ndarray], dimensions: int) -> np.ndarray:
    return np.stack([embed(t) for t in texts]) if texts else np.zeros((0, dimensions), dtype=np.float32)
