"""The Discord front end (discord.py): slash commands, a message command, DMs and mentions, over the shared chat
core (bot.core). Only this package imports discord."""
