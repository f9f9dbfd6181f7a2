"""Buttons are checked against what the server knows, never trusted for what their data says.

A button's `callback_data` comes from the client and can be forged; the message it was tapped on comes from
Telegram. So `guard_buttons` (run before every button handler) lets a tap through only when its data is one of the
buttons of the tapped message, and `job_on_message` lets a result button act only on the job whose result that
message is (the deliveries table records which message that is).
"""

from __future__ import annotations

import asyncio
import time

from telegram import CallbackQuery, Message, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from jobs.models import FINISHED_STATES, JobStatus

from ...core.i18n import N_
from ..identity import translator_of
from ..services import services

FORGED = N_("That button doesn't belong to this message.")
PICTURE_GONE = N_("I don't have that picture any more.")
UNRECORDED_WAIT_S = 5.0  # a result just sent may not be recorded yet: how long a tap on it waits for the record
UNRECORDED_POLL_S = 0.1


def on_message(message: Message, data: str) -> bool:
    """Whether `data` is the data of one of the message's inline buttons."""
    markup = message.reply_markup
    if markup is None:
        return False
    return any(button.callback_data == data for row in markup.inline_keyboard for button in row)


async def refuse(update: Update) -> None:
    """Answer a forged tap with a short refusal."""
    assert update.callback_query is not None
    await update.callback_query.answer(translator_of(update)(FORGED), True)


async def guard_buttons(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop a tap whose data is not among the tapped message's buttons (no handler sees it)."""
    query = update.callback_query
    if query is None:
        return
    if query.data is None or not isinstance(query.message, Message) or not on_message(query.message, query.data):
        await refuse(update)
        raise ApplicationHandlerStop


def tapped(update: Update) -> tuple[CallbackQuery, Message]:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    return query, query.message


async def job_on_message(update: Update, context: ContextTypes.DEFAULT_TYPE, job_id_text: str) -> JobStatus | None:
    """The job whose result is the tapped message (None, after a refusal, when it is not that job's result or the
    job is gone)."""
    (query, message), svc = tapped(update), services(context)
    job = await svc.jobs.status(int(job_id_text)) if job_id_text.isdigit() else None
    if job is None:  # the data is the tapped message's own (guard_buttons): the job was deleted since
        await query.answer(translator_of(update)(PICTURE_GONE), True)
        return None
    if job.chat_id != message.chat_id:
        await refuse(update)
        return None
    delivery = await svc.chat_state.delivery(job.id)
    deadline = time.monotonic() + UNRECORDED_WAIT_S
    while delivery is None and job.state in FINISHED_STATES and time.monotonic() < deadline:
        await asyncio.sleep(UNRECORDED_POLL_S)  # sent a moment ago: its record is being written
        delivery = await svc.chat_state.delivery(job.id)
    if delivery is None or delivery.chat_id != message.chat_id or delivery.message_id != message.id:
        await refuse(update)
        return None
    return job
