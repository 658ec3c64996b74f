"""The default ClassificationServer classifier: a Business Process's rule files.

``Screen`` runs a screening file's rules (sentiment from the rules that say one, unless the
sentiment file selects a model); ``Classify`` picks the category of a ``categories`` file or
scores a ``sentiment`` file: with its own lexicon (``model: lexicon``) or with VADER
(``model: vader``), whose lexicon ships inside the vaderSentiment wheel, so nothing is
downloaded at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol

from gsetup.runtime.classify.rules import RuleBook, RuleFile, applies, words_of

_WORD = re.compile(r"[\w']+")
_NEGATIONS = frozenset({"not", "no", "never", "isn't", "don't", "doesn't", "didn't", "can't"})
VADER_THRESHOLD = 0.05  # VADER's documented cut-off for the compound score


class SentimentModel(Protocol):
    """A score below 0 is negative, above 0 positive; ``threshold`` bounds neutral."""

    threshold: float

    def score(self, text: str) -> float:
        """The text's sentiment score."""


class LexiconModel:
    """Sum of the lexicon's word scores; a negation within the three words before a word
    turns its score around."""

    def __init__(self, lexicon: Mapping[str, float], threshold: float) -> None:
        self.lexicon = lexicon
        self.threshold = threshold
        self.phrases = {k: v for k, v in lexicon.items() if " " in k}

    def score(self, text: str) -> float:
        """The summed scores."""
        words = _WORD.findall(text.lower())
        total = 0.0
        for n, word in enumerate(words):
            value = self.lexicon.get(word)
            if value is not None:
                negated = any(w in _NEGATIONS for w in words[max(0, n - 3) : n])
                total += -value if negated else value
        padded = f" {' '.join(words)} "
        total += sum(v for k, v in self.phrases.items() if f" {k} " in padded)
        return total


class VaderModel:
    """VADER's compound score (-1 to 1), from the lexicon inside the vaderSentiment wheel."""

    threshold = VADER_THRESHOLD

    def score(self, text: str) -> float:
        """The compound score."""
        return float(_vader().polarity_scores(text)["compound"])


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_model(rules: RuleFile) -> SentimentModel:
    """The model a ``sentiment`` file selects."""
    if rules.model == "vader":
        return VaderModel()
    return LexiconModel(rules.lexicon, rules.threshold)


def _label(score: float, threshold: float) -> str:
    if score <= -threshold:
        return "negative"
    return "positive" if score >= threshold else "neutral"


class RulesClassifier:
    """Screen and Classify with one Business Process's rule book."""

    def __init__(self, book: RuleBook) -> None:
        self.book = book
        self.models = {
            name: sentiment_model(f) for name, f in book.files.items() if f.kind == "sentiment"
        }
        self.vader = next((m for m in self.models.values() if isinstance(m, VaderModel)), None)
        # The last text's words: a strategy screens and classifies the same text in a row.
        self._last: tuple[str, frozenset[str] | None] = ("", words_of(""))

    def _words(self, text: str) -> frozenset[str] | None:
        last = self._last
        if last[0] == text:
            return last[1]
        words = words_of(text)
        self._last = (text, words)
        return words

    def screen(self, text: str, rules: str) -> Mapping[str, Any]:
        """``{rules, sentiment, actionability, matched}``: the screening file ``rules``'s
        rules that match. A sentiment file with ``model: vader`` gives the sentiment."""
        screening = self._file(rules, "screening")
        words = self._words(text)
        matched = [r for r in screening.rules if r.matcher.matches(text, words)]
        negative = sum(1 for r in matched if r.sentiment == "negative")
        positive = sum(1 for r in matched if r.sentiment == "positive")
        sentiment = _label(positive - negative, 1)
        vader = self.vader
        if vader is not None:
            sentiment = _label(vader.score(text), vader.threshold)
        actionable = any(r.actionability == "actionable" for r in matched)
        return {
            "rules": rules,
            "sentiment": sentiment,
            "actionability": "actionable" if actionable else "nonactionable",
            "matched": [r.name for r in matched],
        }

    def classify(self, text: str, category_root: str, language: str | None) -> Mapping[str, Any]:
        """``{category, confidence, root}``: the best category under ``category_root``."""
        found = self._file(category_root, "sentiment", "categories")
        if found.kind == "sentiment":
            model = self.models[found.name]
            if found.language is not None and not applies(found.language, language):
                raise ValueError(f"{found.name} classifies {found.language}, not {language}")
            score = model.score(text)
            confidence = min(100, round(50 + 50 * abs(score) / (model.threshold * 4)))
            return {
                "category": _label(score, model.threshold),
                "confidence": confidence,
                "root": category_root,
                "score": round(score, 4),
            }
        words = self._words(text)
        hits = [(c.matcher.hits(text, language, words), c.name) for c in found.categories]
        best = max(hits, key=lambda h: h[0])
        if best[0] == 0:
            return {"category": found.default, "confidence": 50, "root": category_root}
        return {
            "category": best[1],
            "confidence": min(100, 50 + 10 * best[0]),
            "root": category_root,
        }

    def _file(self, name: str, *kinds: str) -> RuleFile:
        found = self.book.files.get(name)
        if found is None or found.kind not in kinds:
            names = sorted(n for n, f in self.book.files.items() if f.kind in kinds)
            raise ValueError(
                f"no {' or '.join(kinds)} rules named {name!r} in {self.book.directory}; "
                f"there are: {', '.join(names) or 'none'}"
            )
        return found
