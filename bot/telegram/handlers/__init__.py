"""Telegram update handlers, one concern a module; bot.telegram.app registers them."""
