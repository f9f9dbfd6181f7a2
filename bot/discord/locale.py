"""Command names, descriptions and choices in the user's language, from the same gettext catalogs as every text
(Discord shows each user the localisation for their client's locale: en-US and en-GB read English, es-ES Spanish,
ru Russian, zh-CN Simplified Chinese; bot.core.i18n.language_of maps each locale to its catalog).

A name is a msgid in the context COMMAND (`pgettext("discord command", "presets")`, so it never takes the
translation of a text that reads the same); a translation that is no valid Discord name falls back to English."""

from __future__ import annotations

import re

import discord
from discord import app_commands

from ..core.i18n import SOURCE, Text, language_of, translator

COMMAND = "discord command"  # the msgctxt of command and option names
NAMES = (
    app_commands.TranslationContextLocation.command_name,
    app_commands.TranslationContextLocation.group_name,
    app_commands.TranslationContextLocation.parameter_name,
)
MAX_DESCRIPTION = 100  # characters
_NAME = re.compile(r"[-_'\w]{1,32}")  # Discord's rule, but for a few scripts' combining marks: lowercase, no spaces


def pgettext(context: str, name: str) -> app_commands.locale_str:
    """A command or option name, translated in `context` when the commands are synced (pybabel extracts it)."""
    return app_commands.locale_str(name, context=context)


def described(text: str) -> app_commands.locale_str:
    """A description (a text marked with N_, or one extracted elsewhere), translated when the commands are synced."""
    return app_commands.locale_str(str(text))


def valid_name(name: str) -> bool:
    """Whether Discord takes this as a command or option name."""
    return bool(_NAME.fullmatch(name)) and name == name.lower()


class CommandTranslator(app_commands.Translator):
    """Translates what the command tree registers (`locale_str`) with the bot's catalogs."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if language_of(locale.value) == SOURCE:
            return None
        t = translator(locale.value)
        msgctxt = string.extras.get("context")
        translated = t.pgettext(msgctxt, string.message) if msgctxt else t(Text(string.message))
        if translated == string.message:
            return None
        if context.location in NAMES and not isinstance(context.data, app_commands.ContextMenu) and not valid_name(
            translated
        ):
            return None  # a context menu's name may have capitals and spaces
        return translated[:MAX_DESCRIPTION]
