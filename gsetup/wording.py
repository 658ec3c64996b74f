"""English for messages built from names: the indefinite article a word takes."""

from __future__ import annotations

# Words whose first vowel letter sounds as a consonant ("a unique", "a user", "a one-off").
_CONSONANT_SOUNDS = ("uni", "usa", "use", "usu", "uti", "one", "eu")


def a_or_an(noun: str) -> str:
    """``a DigitalMessagingServer``, ``an InteractionServer``, ``an 'if' block``.

    Chosen by the first letter (after any quote), as names gsetup shows are words, not
    acronyms read letter by letter.
    """
    word = noun.lstrip("'\"`[").lower()
    vowel = word[:1] in ("a", "e", "i", "o", "u") and not word.startswith(_CONSONANT_SOUNDS)
    return f"{'an' if vowel else 'a'} {noun}"
