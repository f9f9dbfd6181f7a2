"""The chat core every front end shares (Telegram's in bot.telegram): request intake with its limits and quotas,
variations, preset lookup, the texts, and the delivery's pacing and queue mirror. It imports no chat library."""
