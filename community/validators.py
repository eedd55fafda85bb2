"""Input hygiene shared by every form of the site."""

import re
import unicodedata
from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext_lazy as _

_ALLOWED_IN_TEXT = {"\n", "\r", "\t"}


def reject_control_characters(value: str, *, allow_newlines: bool = False) -> str:
    """Refuse NUL and other control characters; normalise line endings.

    PostgreSQL rejects NUL in text and SQLite stores it silently, so nothing like it
    may reach the database. The message never repeats the input.
    """
    allowed = _ALLOWED_IN_TEXT if allow_newlines else set()
    for char in value:
        if (
            char not in allowed
            and unicodedata.category(char) in {"Cc", "Cs", "Cf"}
            and char not in {"\u200d"}
        ):
            raise forms.ValidationError(
                _("Die Eingabe enthält unzulässige Steuerzeichen."), code="control_characters"
            )
    return value.replace("\r\n", "\n").replace("\r", "\n") if allow_newlines else value


# --- Display names: no look-alikes of the staff ---

# Staff titles no member may take as, or inside, a display name, besides the role names the
# database holds (`community.roles.staff_role_names`). A title of RESERVED_INSIDE_MIN_CHARS
# letters or more is found anywhere in the name, spaces and punctuation ignored; a shorter
# one only as a whole word, so that "Badminton-Fan" or "Ademina" stay fine.
RESERVED_TITLES = (
    "Telekom hilft Team",
    "Telekom hilft",
    "Community Management",
    "Moderator",
    "Administrator",
    "Admin",
)
RESERVED_INSIDE_MIN_CHARS = 8
# A run of letters and digits.
_WORD = re.compile(r"[^\W_]+")

# Blank-looking characters that are not in category Cf (fillers, the braille blank).
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")

# Scripts that one word may mix: Japanese writes kanji, hiragana and katakana together.
_SCRIPT_FAMILIES = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "HIRAGANA": "HAN",
    "KATAKANA": "HAN",
    "KATAKANA-HIRAGANA": "HAN",
    "BOPOMOFO": "HAN",
}

# Letters drawn alike, folded to one representative before names are compared with the
# reserved titles (both sides), so that "Теlеkоm" in Cyrillic letters or "Te1ekom" count
# as "Telekom". Lower case only: the comparison runs after casefolding.
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "г": "r", "е": "e", "з": "e", "к": "k", "м": "m", "н": "h",
        "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ь": "b",
        "ѕ": "s", "і": "l", "ј": "j", "һ": "h", "ӏ": "l", "ԁ": "d", "ԛ": "q", "ԝ": "w",
        # Greek
        "α": "a", "β": "b", "γ": "y", "ε": "e", "ζ": "z", "η": "h", "ι": "l", "κ": "k",
        "μ": "m", "ν": "n", "ο": "o", "ρ": "p", "τ": "t", "υ": "y", "χ": "x", "ω": "w",
        # Latin (capital I and small l) and digits
        "i": "l", "ı": "l", "1": "l", "0": "o", "3": "e", "4": "a", "5": "s", "7": "t",
    }
)  # fmt: skip


def is_invisible(char: str) -> bool:
    """Format characters (zero-width (non-)joiner and space, soft hyphen, bidi controls, …)
    and the few blank fillers outside that category."""
    return unicodedata.category(char) == "Cf" or char in _INVISIBLE_EXTRA


def letter_script(char: str) -> str | None:
    """The script of a letter, read from its Unicode name ("LATIN SMALL LETTER A" -> LATIN);
    None for anything that is not a letter or belongs to no script (digits, marks, ʼ)."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if not name or name.startswith("MODIFIER LETTER"):
        return None
    script = name.split(" ", 1)[0]
    return _SCRIPT_FAMILIES.get(script, script)


def mixes_scripts(word: str) -> bool:
    """Whether the letters of one word come from more than one script."""
    scripts = {script for char in word if (script := letter_script(char))}
    return len(scripts) > 1


def name_skeleton(value: str) -> str:
    """The form in which names are compared with reserved titles: NFKC, casefolded,
    invisible characters and accents removed, look-alike letters folded together."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    visible = "".join(char for char in folded if not is_invisible(char))
    bare = "".join(
        char for char in unicodedata.normalize("NFKD", visible) if not unicodedata.combining(char)
    )
    return bare.translate(_LOOKALIKES)


def _squashed(skeleton: str) -> str:
    return "".join(char for char in skeleton if char.isalnum())


def _words(skeleton: str) -> str:
    """The words of a skeleton (split at anything but letters and digits) between single
    spaces and enclosed in spaces, so that a search for " admln " finds whole words only."""
    return f" {' '.join(_WORD.findall(skeleton))} "


def contains_reserved_title(value: str, reserved: Iterable[str]) -> bool:
    """Whether `value` equals or contains one of `reserved`, compared as skeletons."""
    skeleton = name_skeleton(value)
    squashed, words = _squashed(skeleton), _words(skeleton)
    for title in reserved:
        title_skeleton = name_skeleton(title)
        wanted = _squashed(title_skeleton)
        if not wanted:
            continue
        if len(wanted) >= RESERVED_INSIDE_MIN_CHARS:
            if wanted in squashed:
                return True
        elif wanted == squashed or _words(title_skeleton) in words:
            return True
    return False


def validate_display_name(value: str, *, reserved: Iterable[str] = RESERVED_TITLES) -> None:
    """Refuse display names that could pass for the staff or hide what they are.

    Refused: invisible format characters anywhere; a word mixing scripts (Latin with
    Cyrillic, say; umlauts and accents are Latin, and a name wholly in one script is fine);
    a name that equals or contains a reserved title. The messages never repeat the input.
    """
    if any(is_invisible(char) for char in value):
        raise forms.ValidationError(
            _("Bitte verwende keine unsichtbaren Zeichen im Anzeigenamen."), code="invisible"
        )
    folded = unicodedata.normalize("NFKC", value)
    if any(mixes_scripts(word) for word in folded.split()):
        raise forms.ValidationError(
            _(
                "Bitte mische in einem Wort keine Schriften "
                "(z. B. lateinische und kyrillische Buchstaben)."
            ),
            code="mixed_scripts",
        )
    if contains_reserved_title(value, reserved):
        raise forms.ValidationError(
            _("Dieser Anzeigename ist dem Telekom hilft Team vorbehalten."), code="reserved"
        )
