"""The Discord front end in the user's language: texts follow the interaction's locale (es-ES, ru, zh-CN…), and the
synced commands carry their descriptions (and names, once translated) in each language the bot has."""

from __future__ import annotations

import gettext
from pathlib import Path

import discord
import pytest
from discord import app_commands

import bot.discord.locale
from bot.core.i18n import Translator, translator
from bot.discord.commands.presets import presets_command
from bot.discord.locale import COMMAND, CommandTranslator, pgettext
from bot.discord.text import markdown
from tests.support.discord_bot import discord_settings, make_world, running_discord_bot
from tests.support.fakediscord import fake_discord

pytestmark = pytest.mark.timeout(60)

LOCALISED = {"es-ES": "es", "ru": "ru", "zh-CN": "zh-hans"}


async def test_a_spanish_and_a_russian_user_read_their_language(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        carmen, ivan = fake.create_user("carmen", locale="es-ES"), fake.create_user("ivan", locale="ru")
        fake.add_member(world.guild, carmen)
        fake.add_member(world.guild, ivan)
        spanish, russian = translator("es"), translator("ru")

        interaction = await fake.send_slash_command(carmen, world.channel, "cancel")
        await interaction.response()
        assert interaction.original is not None
        nothing = spanish.gettext("There is nothing to cancel.")
        assert nothing != "There is nothing to cancel." and interaction.original.content == markdown(nothing)

        interaction = await fake.send_slash_command(ivan, world.channel, "settings")
        await interaction.response()
        assert interaction.original is not None
        assert interaction.original.content.startswith(markdown(russian.gettext("<b>Your settings</b>")))
        labels = [o["label"] for row in interaction.original.components for c in row["components"]
                  for o in c.get("options", [])]
        assert russian.gettext("strength {strength}", strength="2×") in labels

        interaction = await fake.send_slash_command(world.alice, world.channel, "cancel")
        await interaction.response()
        assert interaction.original is not None and interaction.original.content == "There is nothing to cancel."


async def test_the_synced_commands_carry_their_translations(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        synced = {c["name"]: c for c in fake.commands[None]}
        assert set(synced) >= {
            "presets", "savestyle", "deletestyle", "settings", "history", "me", "cancel", "privacy", "forget"
        }
        presets = synced["presets"]
        assert presets["description"] == "The styles you can use"
        for locale, language in LOCALISED.items():
            expected = translator(language).gettext("The styles you can use")
            assert expected != "The styles you can use"
            assert presets["description_localizations"][locale] == expected, locale
            assert synced["privacy"]["description_localizations"][locale] == translator(language).gettext(
                "What I keep, and how to delete it"
            )
        assert "en-US" not in presets["description_localizations"]
        assert "en-GB" not in presets["description_localizations"]
        for command in synced.values():
            for name in [*command.get("name_localizations", {}).values()] + [
                n for option in command.get("options", []) for n in option.get("name_localizations", {}).values()
            ]:
                assert bot.discord.locale.valid_name(name), name
        [picture] = [o for o in synced["savestyle"]["options"] if o["type"] == 11]
        assert picture["name"] == "picture" and picture["description"] == "The picture whose style to keep"


NAMES = {"presets": "estilos", "savestyle": "Guardar Estilo"}


class _Catalog(gettext.NullTranslations):
    """A catalog with two command names translated (one of them not a valid Discord name)."""

    def pgettext(self, context: str, message: str) -> str:
        return NAMES.get(message, message) if context == COMMAND else message


@pytest.mark.parametrize(("name", "localised"), [("presets", "estilos"), ("savestyle", None), ("history", None)])
async def test_a_translated_name_that_discord_would_refuse_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch, name: str, localised: str | None
) -> None:
    monkeypatch.setattr(bot.discord.locale, "translator", lambda code: Translator("es", _Catalog()))
    context: app_commands.TranslationContextTypes = app_commands.TranslationContext(
        app_commands.TranslationContextLocation.command_name, presets_command
    )
    translated = await CommandTranslator().translate(pgettext(COMMAND, name), discord.Locale.spain_spanish, context)
    assert translated == localised
    assert await CommandTranslator().translate(pgettext(COMMAND, name), discord.Locale.british_english, context) is None
