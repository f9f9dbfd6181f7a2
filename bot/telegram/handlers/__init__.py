"""Telegram update handlers, one concern a module; bot.app registers them."""
