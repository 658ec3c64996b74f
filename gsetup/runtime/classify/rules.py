"""Rule files (``gsetup-rules/1``, docs/classification.md): gsetup's equivalents of the
Knowledge Manager exports the guide's Business Processes ship (SentimentAndActionabilityScreening
Rules, EnglishSentiment, Actionability).

A Business Process's rules are the ``*.yaml`` files of ``<install home>/Rules``. Loading
checks every field and compiles every keyword and regular expression once; an error names the
file, the rule and the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from gsetup.errors import BadInputError
from gsetup.fileio import RULES_LIMIT, read_text
from gsetup.yamlerrors import read_yaml

FORMAT = "gsetup-rules/1"
KINDS = ("screening", "sentiment", "categories")
MODELS = ("lexicon", "vader")
SENTIMENTS = ("negative", "positive")
ACTIONABILITY = ("actionable", "nonactionable")
RULES_DIR = "Rules"
DEFAULTS = Path(__file__).resolve().parent / "data"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,99}")
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")  # \1, (?P=name), (?(1)...)
# A rule file this large takes seconds to load: its YAML parse (pure Python, line numbers
# kept for the errors) and its keywords' compilation, linear, about 13 s a MB. ``loading``
# (the CLI's spinner on a terminal) is shown while one loads; None: nothing.
LARGE_FILE = 1024 * 1024
LARGE_FILE_ENV = "GSETUP_TEST_LARGE_RULE_FILE"  # the tests' smaller LARGE_FILE, in bytes
loading: Callable[[Path, int], AbstractContextManager[None]] | None = None


# A keyword's gate: the word an ASCII text must contain (as a whole word, any case) for the
# keyword to occur in it, and whether containing it is the occurrence (a one-word keyword).
Gate = tuple[str, bool]
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")  # what \w matches in an ASCII text


def words_of(text: str) -> frozenset[str] | None:
    """The lower-case words of an ASCII text, for :class:`Matcher`'s gates; None for any
    other text (case-insensitive matching of other letters is not ``lower()``: the long s,
    U+017F, matches ``s``), which is searched pattern by pattern."""
    return frozenset(_ASCII_WORD.findall(text.lower())) if text.isascii() else None


def keyword_gate(keyword: str) -> Gate | None:
    """The gate of a keyword (a word or phrase matched as whole words): its first word.
    Matched, that word is a whole word of the text: a non-word character or the start is
    before it, and a non-word character (the keyword's next one) or the end after it."""
    if not keyword.isascii():  # the Kelvin sign matches k in any case: no word to require
        return None
    first = _ASCII_WORD.match(keyword)
    if first is None:
        return None
    return first.group().lower(), first.end() == len(keyword)


@dataclass(frozen=True)
class Matcher:
    """Keywords and regular expressions of one rule or category, per language.

    Each keyword's gate lets an ASCII text skip a regular-expression search: a one-word
    keyword occurs exactly when the text's words contain it, a phrase only when they
    contain its first word. ``tests/test_classification.py`` checks every answer against
    the searches."""

    patterns: Mapping[str, tuple[re.Pattern[str], ...]]  # language -> compiled patterns
    # language -> each pattern's gate, in the same order (None: a regular expression)
    gates: Mapping[str, tuple[Gate | None, ...]] = field(default_factory=dict)

    def hits(self, text: str, language: str | None, words: frozenset[str] | None = None) -> int:
        """How many of the patterns of ``language`` (every language: None) occur in text;
        ``words``: the text's :func:`words_of`."""
        gated = self._of_language.get(language)
        if gated is None:
            gated = self._of_language[language] = tuple(
                entry
                for name, ps in self.patterns.items()
                if applies(name, language)
                for entry in zip(ps, self._gates(name), strict=True)
            )
        if words is None:
            return sum(1 for pattern, _gate in gated if pattern.search(text))
        count = 0
        for pattern, gate in gated:
            if gate is not None:
                if gate[0] not in words:
                    continue
                if gate[1]:
                    count += 1
                    continue
            if pattern.search(text):
                count += 1
        return count

    def _gates(self, language: str) -> tuple[Gate | None, ...]:
        return self.gates.get(language) or (None,) * len(self.patterns[language])

    @cached_property
    def _of_language(self) -> dict[str | None, tuple[tuple[re.Pattern[str], Gate | None], ...]]:
        """The patterns (with their gates) that apply to a request language, as asked."""
        return {}

    def matches(self, text: str, words: frozenset[str] | None = None) -> bool:
        """True when any pattern, of any language, occurs in ``text`` (stops at the first);
        ``words``: the text's :func:`words_of`."""
        if words is None:
            return _search_any(self.any_pattern, self.patterns.values(), text)
        exact, rest = self._split
        if not exact.isdisjoint(words):
            return True
        if not any(gate is None or gate[0] in words for gate in rest.gates[""]):
            return False
        return _search_any(rest.any_pattern, rest.patterns.values(), text)

    @cached_property
    def _split(self) -> tuple[frozenset[str], Matcher]:
        """The one-word keywords, and a matcher of the other patterns."""
        exact: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        gates: list[Gate | None] = []
        for name, ps in self.patterns.items():
            for pattern, gate in zip(ps, self._gates(name), strict=True):
                if gate is not None and gate[1]:
                    exact.add(gate[0])
                else:
                    patterns.append(pattern)
                    gates.append(gate)
        return frozenset(exact), Matcher({"": tuple(patterns)}, {"": tuple(gates)})

    @cached_property
    def any_pattern(self) -> re.Pattern[str] | None:
        """Every pattern as one alternation: one search instead of one per pattern. None when
        a pattern refers to a group by number or name (its meaning would change) or they do
        not combine."""
        every = [p for patterns in self.patterns.values() for p in patterns]
        if not every or any(
            _GROUP_REFERENCE.search(p.pattern) or p.flags != every[0].flags for p in every
        ):
            return None
        try:
            return re.compile("|".join(f"(?:{p.pattern})" for p in every), every[0].flags)
        except re.error:
            return None


def _search_any(
    combined: re.Pattern[str] | None, patterns: Iterable[Iterable[re.Pattern[str]]], text: str
) -> bool:
    if combined is not None:
        return combined.search(text) is not None
    return any(p.search(text) for ps in patterns for p in ps)


@dataclass(frozen=True)
class ScreeningRule:
    """A screening rule: when it matches, it says a sentiment and/or an actionability."""

    name: str
    matcher: Matcher
    sentiment: str | None
    actionability: str | None


@dataclass(frozen=True)
class Category:
    """A category of a ``categories`` file."""

    name: str
    matcher: Matcher


@dataclass(frozen=True)
class RuleFile:
    """One checked rule file."""

    path: Path
    name: str  # the rules name Screen is asked for, or the category root Classify is
    kind: str
    rules: tuple[ScreeningRule, ...] = ()
    categories: tuple[Category, ...] = ()
    default: str = ""
    model: str = "lexicon"
    threshold: float = 1.0
    lexicon: Mapping[str, float] = field(default_factory=dict)
    language: str | None = None


@dataclass(frozen=True)
class RuleBook:
    """Every rule file of a Business Process, by name."""

    directory: Path
    files: Mapping[str, RuleFile]


def applies(name: str, language: str | None) -> bool:
    """Whether patterns listed under language ``name`` apply to a request in ``language``:
    any request without one, ``English`` for ``English`` and ``English_Sentiment`` (the
    Language business attribute's value)."""
    return language is None or language == name or language.startswith(f"{name}_")


def rules_directory(install_home: Path | None) -> Path:
    """Where a Business Process's rule files are: ``<install home>/Rules``, else the
    shipped defaults (a Business Process installed before rule files existed)."""
    if install_home is not None and (install_home / RULES_DIR).is_dir():
        return install_home / RULES_DIR
    return DEFAULTS


def load_rules(directory: Path) -> RuleBook:
    """Load and check every ``*.yaml`` file of ``directory``; a book already loaded from the
    same unchanged files is reused (the books are immutable)."""
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise BadInputError(f"{directory}: no rule files (*.yaml)")
    stamps = tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    book = _LOADED.get(directory)
    if book is None or book[0] != stamps:
        book = (stamps, _load_book(directory, paths))
        _LOADED[directory] = book
    return book[1]


_LOADED: dict[Path, tuple[tuple[tuple[Path, int, int], ...], RuleBook]] = {}


def _load_book(directory: Path, paths: list[Path]) -> RuleBook:
    files: dict[str, RuleFile] = {}
    for path in paths:
        with _shown(path):
            loaded = _FileLoader(path).load()
        if loaded.name in files:
            raise BadInputError(
                f"{path}: name {loaded.name!r} is also the name of {files[loaded.name].path.name}"
            )
        files[loaded.name] = loaded
    return RuleBook(directory, files)


def _shown(path: Path) -> AbstractContextManager[None]:
    size = path.stat().st_size
    large = int(os.environ.get(LARGE_FILE_ENV) or LARGE_FILE)
    return loading(path, size) if loading is not None and size >= large else nullcontext()


class _FileLoader:
    """Checks one file; ``fail`` names the file, the place and its line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: Any, key: Any, where: str, message: str) -> BadInputError:
        line = _line(node, key)
        at = f"line {line}: " if line else ""
        return BadInputError(f"{self.path}: {at}{where}: {message}")

    def load(self) -> RuleFile:
        from ruamel.yaml import YAML

        text = read_text(self.path, RULES_LIMIT, "rule file")
        data = read_yaml(YAML(typ="rt").load, text, str(self.path))
        if not isinstance(data, Mapping):
            raise BadInputError(f"{self.path}: a rule file is a mapping (format, name, kind...)")
        allowed = {
            "screening": {"rules"},
            "sentiment": {"model", "threshold", "lexicon", "language"},
            "categories": {"categories", "default"},
        }
        kind = self._header(data)
        unknown = sorted(set(data) - {"format", "name", "kind", "description"} - allowed[kind])
        if unknown:
            raise self.fail(data, unknown[0], unknown[0], f"not a key of a {kind} file")
        return getattr(self, f"_{kind}")(data)  # type: ignore[no-any-return]

    def _header(self, data: Mapping[str, Any]) -> str:
        if data.get("format") != FORMAT:
            raise self.fail(data, "format", "format", f"must be {FORMAT}")
        name = data.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise self.fail(data, "name", "name", "a name of letters, digits and _.- is required")
        if data.get("kind") not in KINDS:
            raise self.fail(data, "kind", "kind", f"is one of {', '.join(KINDS)}")
        return str(data["kind"])

    def _screening(self, data: Mapping[str, Any]) -> RuleFile:
        rules = self._list(data, "rules")
        loaded = []
        for index, rule in enumerate(rules):
            where = f"rules[{index}]"
            name = self._item_name(rules, index, rule, where)
            where = f"rule {name!r}"
            unknown = sorted(
                set(rule) - {"name", "sentiment", "actionability", "keywords", "regex"}
            )
            if unknown:
                raise self.fail(rule, unknown[0], where, f"unknown key {unknown[0]!r}")
            sentiment, actionability = rule.get("sentiment"), rule.get("actionability")
            if sentiment is not None and sentiment not in SENTIMENTS:
                raise self.fail(rule, "sentiment", where, f"sentiment is {' or '.join(SENTIMENTS)}")
            if actionability is not None and actionability not in ACTIONABILITY:
                raise self.fail(
                    rule, "actionability", where, f"actionability is {' or '.join(ACTIONABILITY)}"
                )
            if sentiment is None and actionability is None:
                raise self.fail(rules, index, where, "says a sentiment, an actionability or both")
            loaded.append(ScreeningRule(name, self._matcher(rule, where), sentiment, actionability))
        return RuleFile(self.path, data["name"], "screening", rules=tuple(loaded))

    def _categories(self, data: Mapping[str, Any]) -> RuleFile:
        items = self._list(data, "categories")
        categories = []
        for index, item in enumerate(items):
            name = self._item_name(items, index, item, f"categories[{index}]")
            unknown = sorted(set(item) - {"name", "keywords", "regex"})
            if unknown:
                raise self.fail(
                    item, unknown[0], f"category {name!r}", f"unknown key {unknown[0]!r}"
                )
            categories.append(Category(name, self._matcher(item, f"category {name!r}")))
        default = data.get("default")
        if not isinstance(default, str) or not default:
            raise self.fail(data, "default", "default", "the category of a text no rule matches")
        return RuleFile(
            self.path, data["name"], "categories", categories=tuple(categories), default=default
        )

    def _sentiment(self, data: Mapping[str, Any]) -> RuleFile:
        model = data.get("model", "lexicon")
        if model not in MODELS:
            raise self.fail(data, "model", "model", f"is one of {', '.join(MODELS)}")
        threshold = data.get("threshold", 1)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
            raise self.fail(data, "threshold", "threshold", "a number above 0")
        lexicon = data.get("lexicon")
        if not isinstance(lexicon, Mapping) or not lexicon:
            raise self.fail(data, "lexicon", "lexicon", "a mapping of word: score (-4 to 4)")
        words: dict[str, float] = {}
        for word, score in lexicon.items():
            ok = isinstance(score, int | float) and not isinstance(score, bool) and -4 <= score <= 4
            if not isinstance(word, str) or not word.strip() or not ok:
                raise self.fail(lexicon, word, f"lexicon[{word!r}]", "a word with a score -4 to 4")
            words[word.strip().lower()] = float(score)
        language = data.get("language")
        if language is not None and not isinstance(language, str):
            raise self.fail(data, "language", "language", "a language name, e.g. English")
        return RuleFile(
            self.path, data["name"], "sentiment", model=str(model), threshold=float(threshold),
            lexicon=words, language=language,
        )  # fmt: skip

    def _list(self, data: Mapping[str, Any], key: str) -> list[Any]:
        items = data.get(key)
        if not isinstance(items, list) or not items:
            raise self.fail(data, key, key, "a non-empty list")
        return items

    def _item_name(self, items: list[Any], index: int, item: Any, where: str) -> str:
        if not isinstance(item, Mapping):
            raise self.fail(items, index, where, "a mapping with name, keywords and regex")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise self.fail(item, "name", where, "a name of letters, digits and _.- is required")
        return name

    def _matcher(self, rule: Mapping[str, Any], where: str) -> Matcher:
        patterns: dict[str, list[re.Pattern[str]]] = {}
        gates: dict[str, list[Gate | None]] = {}
        for key in ("keywords", "regex"):
            by_language = rule.get(key, {})
            if not isinstance(by_language, Mapping):
                raise self.fail(rule, key, where, f"{key} maps a language to a list")
            for language, entries in by_language.items():
                if not isinstance(entries, list) or not entries:
                    raise self.fail(
                        by_language, language, where, f"{key}.{language} is a non-empty list"
                    )
                for n, entry in enumerate(entries):
                    place = f"{where}: {key}.{language}[{n}]"
                    patterns.setdefault(str(language), []).append(
                        self._pattern(entries, n, entry, place, key == "regex")
                    )
                    gate = None if key == "regex" else keyword_gate(" ".join(entry.split()))
                    gates.setdefault(str(language), []).append(gate)
        if not patterns:
            raise self.fail(rule, "name", where, "needs keywords or regex")
        return Matcher(
            {k: tuple(v) for k, v in patterns.items()}, {k: tuple(v) for k, v in gates.items()}
        )

    def _pattern(self, entries: list[Any], n: int, entry: Any, where: str, regex: bool) -> Any:
        if not isinstance(entry, str) or not entry.strip():
            raise self.fail(entries, n, where, "a non-empty string")
        if not regex:  # a word or phrase, matched as whole words, any case
            words = r"\s+".join(re.escape(w) for w in entry.split())
            return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)
        try:
            return re.compile(entry, re.IGNORECASE)
        except re.error as exc:
            raise self.fail(entries, n, where, f"not a valid regular expression: {exc}") from None


def _line(node: Any, key: Any) -> int | None:
    """The 1-based line of ``node[key]`` in the round-trip YAML, if known."""
    lc: Any = getattr(node, "lc", None)
    try:
        if isinstance(node, list):
            return int(lc.item(key)[0]) + 1
        return int(lc.key(key)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return int(lc.line) + 1 if lc is not None else None
