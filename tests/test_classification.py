"""The rule files and the two sentiment models (the rules' lexicon, VADER's packaged one) on
the same messages, and rule files refused with their file, rule and line."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from gsetup.errors import BadInputError
from gsetup.runtime.classify.classifier import RulesClassifier
from gsetup.runtime.classify.rules import DEFAULTS, load_rules
from tests.helpers import refusal_without_waiting

SCREENING = "SentimentAndActionabilityScreeningRules"
# message -> (rules sentiment, VADER sentiment, actionability)
MESSAGES = {
    "The app is broken and support is terrible": ("negative", "negative", "actionable"),
    "I love this page, thanks!": ("positive", "positive", "nonactionable"),
    "How do I get a refund?": ("neutral", "neutral", "actionable"),
    "The delivery was not good at all": ("negative", "negative", "nonactionable"),
    "Lovely photos from the opening": ("positive", "positive", "nonactionable"),
    # Words the shipped lexicon lacks: VADER's lexicon of 7,500 terms knows them.
    "What a delightful surprise": ("neutral", "positive", "nonactionable"),
    "This is dreadful and ridiculous": ("neutral", "negative", "nonactionable"),
}


def _rules(tmp_path: Path, model: str = "lexicon") -> RulesClassifier:
    directory = tmp_path / "Rules"
    shutil.copytree(DEFAULTS, directory)
    path = directory / "english-sentiment.yaml"
    path.write_text(path.read_text().replace("model: lexicon", f"model: {model}"))
    return RulesClassifier(load_rules(directory))


@pytest.mark.parametrize("message", list(MESSAGES))
def test_both_models_on_the_same_messages(tmp_path: Path, message: str) -> None:
    lexicon_expected, vader_expected, actionability = MESSAGES[message]
    lexicon, vader = _rules(tmp_path / "a"), _rules(tmp_path / "b", "vader")
    for classifier, expected in ((lexicon, lexicon_expected), (vader, vader_expected)):
        classified = classifier.classify(message, "EnglishSentiment", "English_Sentiment")
        assert classified["category"] == expected, classifier.models
        assert 50 <= classified["confidence"] <= 100
        screened = classifier.screen(message, SCREENING)
        assert screened["actionability"] == actionability
        action = classifier.classify(message, "Actionability", "English_Sentiment")
        assert action["category"] == actionability
    # The screening rules' own sentiment when the lexicon model is selected; VADER's with it.
    assert vader.screen(message, SCREENING)["sentiment"] == vader_expected


def test_languages_select_keywords(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    assert rules.classify("¿cómo cancelo mi pedido", "Actionability", "Spanish")["category"] == (
        "actionable"
    )
    assert rules.classify("mi pedido", "Actionability", "English")["category"] == "nonactionable"
    assert rules.screen("gracias, excelente", SCREENING)["matched"] == ["praise"]
    with pytest.raises(ValueError, match="EnglishSentiment classifies English, not French"):
        rules.classify("bon", "EnglishSentiment", "French")
    with pytest.raises(ValueError, match="no sentiment or categories rules named 'Topics'"):
        rules.classify("x", "Topics", None)


BAD = [
    (
        "actionability.yaml",
        "      English: ['\\bhow (do|can|should) (i|we)\\b',",
        "      English: ['\\bhow (do|can',",
        r"category 'actionable': regex.English\[0\]: not a valid regular expression: missing \)",
    ),
    (
        "screening.yaml",
        "    sentiment: positive\n",
        "    sentiment: glad\n",
        r"rule 'praise': sentiment is negative or positive",
    ),
    (
        "screening.yaml",
        "  - name: request\n",
        "  - name: request\n    weight: 3\n",
        r"rule 'request': unknown key 'weight'",
    ),
    (
        "english-sentiment.yaml",
        "  hate: -3\n",
        "  hate: -9\n",
        r"lexicon\['hate'\]: a word with a score -4 to 4",
    ),
    (
        "english-sentiment.yaml",
        "model: lexicon\n",
        "model: bert\n",
        r"model: is one of lexicon, vader",
    ),
    (
        "actionability.yaml",
        "format: gsetup-rules/1\n",
        "format: gsetup-rules/2\n",
        r"format: must be gsetup-rules/1",
    ),
    (  # a YAML syntax error: one line, not the parser's dump
        "screening.yaml",
        "    sentiment: positive\n",
        "    sentiment: positive: yes\n",
        r"^[^\n]*: line \d+, column 24: mapping values are not allowed here$",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "error"), BAD)
def test_bad_rule_files_name_file_rule_and_line(
    tmp_path: Path, file: str, old: str, new: str, error: str
) -> None:
    directory = tmp_path / "Rules"
    shutil.copytree(DEFAULTS, directory)
    path = directory / file
    text = path.read_text()
    assert old in text
    changed = text.replace(old, new, 1)
    path.write_text(changed)
    # The line named is the one edited (the last line of a multi-line edit).
    line = changed[: changed.index(new) + len(new.rstrip("\n"))].count("\n") + 1
    with pytest.raises(BadInputError) as refused:
        load_rules(directory)
    assert re.match(rf"{re.escape(str(path))}: line {line}(, column \d+)?: ", str(refused.value))
    assert re.search(error, str(refused.value))


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("x: " + "[" * 1000 + "]" * 1000, "nested too deeply to read"),
        ("x: " + "1" * 5000, "a value YAML cannot convert: Exceeds the limit (4300 digits)"),
    ],
)
def test_what_the_yaml_reader_cannot_build_is_refused(
    tmp_path: Path, tail: str, message: str
) -> None:
    """These escaped as 'unexpected RecursionError' or ValueError from route check, exit 1."""
    directory = tmp_path / "Rules"
    shutil.copytree(DEFAULTS, directory)
    path = directory / "screening.yaml"
    path.write_text(path.read_text() + tail + "\n")
    with pytest.raises(BadInputError) as refused:
        load_rules(directory)
    assert str(refused.value).startswith(f"{path}: {message}")


def test_a_rule_file_that_is_not_regular_is_refused_not_waited_on(tmp_path: Path) -> None:
    directory = tmp_path / "Rules"
    shutil.copytree(DEFAULTS, directory)
    fifo = directory / "screening.yaml"
    fifo.unlink()
    os.mkfifo(fifo)
    refused = refusal_without_waiting(lambda: load_rules(directory))
    assert refused == f"rule file {fifo} is a FIFO (named pipe), not a regular file"


def test_docs_examples_are_valid_rule_files(tmp_path: Path) -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "classification.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) == 3
    for n, block in enumerate(blocks):
        (tmp_path / f"{n}.yaml").write_text(block)
    rules = RulesClassifier(load_rules(tmp_path))
    screened = rules.screen("How do I get a refund? It never arrived", SCREENING)
    assert screened["matched"] == ["complaint", "request"]
    assert (screened["sentiment"], screened["actionability"]) == ("negative", "actionable")
    assert rules.classify("not great", "EnglishSentiment", "English")["category"] == "negative"
    assert rules.classify("Any news?", "Actionability", None)["category"] == "actionable"


def test_one_search_per_rule_finds_what_each_pattern_finds() -> None:
    from gsetup.runtime.classify.rules import Matcher

    shipped = load_rules(DEFAULTS)
    matchers = [r.matcher for f in shipped.files.values() for r in f.rules]
    assert matchers and all(m.any_pattern is not None for m in matchers)
    texts = ["", "please FIX this", "broken, please fix", "not bad at all", "Refund!", "ok"]
    for matcher in matchers:
        for text in texts:
            each = any(p.search(text) for ps in matcher.patterns.values() for p in ps)
            assert matcher.matches(text) == each
    # A backreference keeps its meaning: such a rule searches pattern by pattern.
    repeated = Matcher({"English": (re.compile(r"(\w)\1", re.I), re.compile("zz", re.I))})
    assert repeated.any_pattern is None
    assert repeated.matches("aa") and not repeated.matches("ab")


def test_gated_keywords_answer_as_the_searches_do(tmp_path: Path) -> None:
    """An ASCII text's words decide one-word keywords and rule phrases out without a
    search; on every kind of text the answers are those of searching each pattern."""
    import random

    from gsetup.runtime.classify.rules import keyword_gate, words_of

    assert keyword_gate("Fix") == ("fix", True)
    assert keyword_gate("contact me") == ("contact", False)
    assert keyword_gate("e-mail") == ("e", False)
    assert keyword_gate("cómo") is None and keyword_gate("-ish") is None
    assert words_of("Fix_it, e-mail ME") == {"fix_it", "e", "mail", "me"}
    assert words_of("\u017fo") is None  # the long s matches s in any case; lower() keeps it
    directory = tmp_path / "Rules"
    shutil.copytree(DEFAULTS, directory)
    (directory / "extra.yaml").write_text(
        "format: gsetup-rules/1\nname: Extra\nkind: categories\ndefault: none\n"
        "categories:\n  - name: odd\n    keywords:\n"
        "      English: [\"don't\", c++, e-mail, so, k, Fix, x_y, '42']\n"
        "      Spanish: [cómo, año]\n    regex:\n      English: ['\\bwh\\w+\\b']\n"
    )
    book = load_rules(directory)
    matchers = [r.matcher for f in book.files.values() for r in (*f.rules, *f.categories)]
    assert sum(1 for m in matchers for g in m.gates.values() for gate in g if gate) > 60
    pieces = [
        "help", "HELP", "please", "fix", "Fix", "fixed", "fix_it", "contact", "me", "contact  me",
        "contact,me", "my order", "my\norder", "where is", "don't", "dont", "c++", "c+", "e-mail",
        "email", "so", "\u017fo", "k", "\u212a", "42", "x_y", "x", "cómo", "año", "never arrived",
        "rip off", "why is", "how can i", "?", "!", ",", "-", "_", "'", " ", " ", "\t", "\n",
        "thank you", "thanks", "not working", "broken", "love", "lovely",
    ]  # fmt: skip
    shuffle = random.Random(13)
    texts = ["", *pieces, *("".join(shuffle.choices(pieces, k=6)) for _ in range(1500))]
    for text in texts:
        words = words_of(text)
        for matcher in matchers:
            each = [p for ps in matcher.patterns.values() for p in ps]
            assert matcher.matches(text, words) == any(p.search(text) for p in each), text
            for language in (None, "English", "English_Sentiment", "Spanish"):
                searched = sum(
                    1
                    for name, ps in matcher.patterns.items()
                    if language is None or language == name or language.startswith(f"{name}_")
                    for p in ps
                    if p.search(text)
                )
                assert matcher.hits(text, language, words) == searched, (text, language)
