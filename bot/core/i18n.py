"""The user's language: every text a user sees is a gettext message, in the language of their language_code.

English is the source language: each text is written once, in English, as a msgid in the code — `t.gettext(...)`
and `t.ngettext(...)` where the reader is known (on Telegram `t = translator_of(update)`, bot.telegram.identity),
`N_(...)` and `NP_(...)` for texts made before (module constants, refusals raised deep down), which `t(text)`
translates when they are used. The catalogs are bot/locales/<language>/LC_MESSAGES/messages.po, compiled in memory
when the bot starts (no .mo files).
After changing a text, from the repository root:

    pybabel extract -k N_ -k NP_:1,2 -c TRANSLATORS: --add-location=file --project=StyleBot \\
        -o bot/locales/messages.pot bot
    pybabel update -i bot/locales/messages.pot -d bot/locales -D messages --ignore-obsolete

then translate what is new or fuzzy in each messages.po (tests/test_bot_i18n.py fails until the .pot matches the code
and every catalog translates every message, placeholders, HTML tags and emoji unchanged). A new language: `pybabel
init -i bot/locales/messages.pot -d bot/locales -D messages -l <locale>`, then add it to LANGUAGES and language_of.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterable, Mapping
from importlib import resources

from babel.core import Locale
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

SOURCE = "en"
LANGUAGES = (SOURCE, "es", "ru", "zh_Hans")  # Babel's locale names; each but English has a catalog
DOMAIN = "messages"
_TRADITIONAL = frozenset({"hant", "tw", "hk", "mo"})  # Traditional Chinese: no catalog (yet), so English


def language_of(language_code: str | None) -> str:
    """The catalog for Telegram's language_code (an IETF tag: `ru`, `ru-RU`, `es-419`, `zh-hans`…); English when
    there is none for it."""
    primary, *rest = (language_code or "").strip().lower().replace("_", "-").split("-")
    if primary == "zh":
        return SOURCE if _TRADITIONAL.intersection(rest) else "zh_Hans"
    return primary if primary in ("es", "ru") else SOURCE


class Text(str):
    """A text marked for translation and translated when it is used (`t(text)`), made with N_ or NP_.

    It is also a str: its English form (what logs show, and what code that only needs English reads)."""

    msgid: str
    plural: str | None
    n: int
    values: Mapping[str, object]

    def __new__(
        cls, msgid: str, plural: str | None = None, n: int = 1, values: Mapping[str, object] | None = None
    ) -> Text:
        values = values or {}
        english = ENGLISH.ngettext(msgid, plural, n, **values) if plural else ENGLISH.gettext(msgid, **values)
        self = super().__new__(cls, english)
        self.msgid, self.plural, self.n, self.values = msgid, plural, n, dict(values)
        return self

    def translated(self, t: Translator, values: Mapping[str, object]) -> str:
        merged = {**self.values, **values}
        if self.plural:
            return t.ngettext(self.msgid, self.plural, self.n, **merged)
        return t.gettext(self.msgid, **merged)


class OneOf(Text):
    """`“a”, “b” or “c”` in the reader's language (CLDR's list patterns); each item is translated if it is a Text."""

    items: tuple[str, ...]

    def __new__(cls, items: Iterable[str]) -> OneOf:
        listed = tuple(items)
        self = str.__new__(cls, format_list(list(listed), style="or", locale=SOURCE))
        self.msgid, self.plural, self.n, self.values, self.items = str(self), None, 1, {}, listed
        return self

    def translated(self, t: Translator, values: Mapping[str, object]) -> str:
        return format_list([t(item) for item in self.items], style="or", locale=t.locale)


def N_(message: str, /, **values: object) -> Text:
    """Mark a text for translation (Babel extracts it); `t(text)` translates it and fills its {placeholders}."""
    return Text(message, values=values)


def NP_(singular: str, plural: str, n: int, /, **values: object) -> Text:
    """N_ for a text about a number: the plural form for `n` is picked when it is translated ({n} is filled)."""
    return Text(singular, plural, n, values)


class Translator:
    """The texts in one language: `gettext`/`ngettext` translate a msgid and fill its {placeholders} (a Text among
    the values is translated too); `t(text)` translates a Text made earlier (a plain str is only filled in)."""

    def __init__(self, language: str, catalog: gettext.NullTranslations) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self._catalog = catalog

    def gettext(self, message: str, /, **values: object) -> str:
        return self._fill(self._catalog.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        return self._fill(self._catalog.ngettext(singular, plural, n), {"n": n, **values})

    def pgettext(self, context: str, message: str, /, **values: object) -> str:
        """gettext for a msgid that means something else in `context` (e.g. a Discord command's name)."""
        return self._fill(self._catalog.pgettext(context, message), values)

    def __call__(self, text: str, /, **values: object) -> str:
        if isinstance(text, Text):
            return text.translated(self, values)
        return self._fill(text, values)

    def _fill(self, template: str, values: Mapping[str, object]) -> str:
        if not values:
            return template
        return template.format(**{k: self(v) if isinstance(v, Text) else v for k, v in values.items()})


ENGLISH = Translator(SOURCE, gettext.NullTranslations())


def _compile(language: str) -> gettext.NullTranslations:
    """The language's messages.po, compiled in memory (fuzzy entries are left out: they read as English)."""
    po = resources.files("bot").joinpath("locales", language, "LC_MESSAGES", f"{DOMAIN}.po")
    with po.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def _translator(language: str) -> Translator:
    return ENGLISH if language == SOURCE else Translator(language, _compile(language))


def translator(language_code: str | None) -> Translator:
    """The texts for Telegram's language_code (English when there is no catalog for it); each catalog is compiled
    once."""
    return _translator(language_of(language_code))


def load_catalogs() -> list[Translator]:
    """Compile every catalog now (at start-up: a broken .po fails there, not in the middle of a reply)."""
    return [_translator(language) for language in LANGUAGES]
