"""The delivery loop's parts that need no chat library: the pacing (the limits and the call log), the queue mirror,
what each status message shows (kept across a clean restart), and what the loop counts. The loop itself, and the
calls that send and edit, are the front end's (bot.telegram.delivery)."""

LOGGER = "bot.delivery"  # one logger for the whole delivery loop, core and front end alike
