"""`python -m bot`: run the Telegram bot with settings from the environment."""

from bot.telegram.app import run_bot
from settings import Settings

if __name__ == "__main__":
    run_bot(Settings.from_env())
