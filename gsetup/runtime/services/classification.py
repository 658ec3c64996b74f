"""ClassificationServer: screening and classification through a pluggable classifier.

The default :class:`KeywordClassifier` matches words of small built-in lexicons; the
Business Process behaviours replace it with rule files (Knowledge Manager equivalents).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Classifier(Protocol):
    """What the ClassificationServer service asks of a classifier."""

    def screen(self, text: str, rules: str) -> Mapping[str, Any]:
        """Screening rules: ``{sentiment, actionability, matched}``."""

    def classify(self, text: str, category_root: str, language: str | None) -> Mapping[str, Any]:
        """The best category under ``category_root``: ``{category, confidence}``."""


_WORD = re.compile(r"[a-z']+")

NEGATIVE = frozenset(
    [
        "bad",
        "broken",
        "angry",
        "awful",
        "terrible",
        "worst",
        "hate",
        "horrible",
        "disappointed",
        "refund",
        "useless",
        "slow",
        "never",
        "poor",
        "wrong",
        "failed",
        "fail",
        "crash",
        "cancel",
        "complaint",
    ]
)
POSITIVE = frozenset(
    [
        "good",
        "great",
        "love",
        "excellent",
        "thanks",
        "thank",
        "awesome",
        "amazing",
        "happy",
        "best",
        "nice",
        "perfect",
        "wonderful",
        "fantastic",
        "helpful",
    ]
)
ACTIONABLE = frozenset(
    [
        "help",
        "please",
        "refund",
        "cancel",
        "fix",
        "broken",
        "how",
        "why",
        "when",
        "where",
        "order",
        "account",
        "issue",
        "problem",
        "support",
        "contact",
        "call",
    ]
)


@dataclass(frozen=True)
class KeywordClassifier:
    """Sentiment and actionability from word lists; ties are neutral."""

    negative: frozenset[str] = NEGATIVE
    positive: frozenset[str] = POSITIVE
    actionable: frozenset[str] = ACTIONABLE
    roots: Mapping[str, str] = field(
        default_factory=lambda: {"EnglishSentiment": "sentiment", "Actionability": "actionability"}
    )

    def screen(self, text: str, rules: str) -> Mapping[str, Any]:
        """Both labels and the words that matched."""
        words = set(_WORD.findall(text.lower()))
        matched = sorted(words & (self.negative | self.positive | self.actionable))
        return {
            "rules": rules,
            "sentiment": self._sentiment(words),
            "actionability": "actionable" if words & self.actionable else "nonactionable",
            "matched": matched,
        }

    def classify(self, text: str, category_root: str, language: str | None) -> Mapping[str, Any]:
        """``EnglishSentiment``: negative/positive/neutral; ``Actionability``: actionable or
        nonactionable. Another root is an error of the strategy."""
        kind = self.roots.get(category_root)
        if kind is None:
            raise ValueError(
                f"no category root {category_root!r}; the roots are: {', '.join(self.roots)}"
            )
        words = set(_WORD.findall(text.lower()))
        if kind == "sentiment":
            category = self._sentiment(words)
            hits = len(words & (self.negative | self.positive))
        else:
            category = "actionable" if words & self.actionable else "nonactionable"
            hits = len(words & self.actionable)
        return {"category": category, "confidence": min(100, 50 + 10 * hits), "root": category_root}

    def _sentiment(self, words: set[str]) -> str:
        negative, positive = len(words & self.negative), len(words & self.positive)
        if negative > positive:
            return "negative"
        return "positive" if positive > negative else "neutral"
