"""The Telegram front end (python-telegram-bot): the application, its handlers and buttons, and the Bot API calls
of the delivery loop, on top of the shared chat core (bot.core)."""
