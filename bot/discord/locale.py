"""Command names, descriptions and choices in the user's language, from the same gettext catalogs as every text
(Discord shows each user the localisation for their client's locale)."""

from __future__ import annotations

import discord
from discord import app_commands

from ..core.i18n import SOURCE, language_of, translator


class CommandTranslator(app_commands.Translator):
    """Translates what the command tree registers (`locale_str`) with the bot's catalogs."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if language_of(locale.value) == SOURCE:
            return None
        translated = translator(locale.value).gettext(string.message)
        return translated if translated != string.message else None
