"""The Telegram side of StyleBot: python-telegram-bot handlers that talk to the job system only."""
