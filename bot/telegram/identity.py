"""Who is asking, and who may act for whom.

Anonymous group admins and people posting as a channel all reach bots with the same placeholder user
(`GroupAnonymousBot`, or Telegram's service account); the message's `sender_chat` says who they really post as.
That chat is then the requester: its history, quota, waiting photo and /forget never mix with anyone else's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from telegram import Bot, Message, Update, User
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from ..core.i18n import Translator, translator
from ..core.identity import Requester

ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
ADMIN_CACHE_S = 300.0  # how long a getChatMember answer is trusted


def translator_of(update: Update) -> Translator:
    """The texts for whoever sent the update (the person who tapped, for a button)."""
    user = update.effective_user
    return translator(user.language_code if user else None)


def requester_of(update: Update) -> Requester | None:
    """The identity of whoever sent this update's message (buttons: the person who tapped)."""
    if update.callback_query is None and update.effective_message is not None:
        return requester_of_message(update.effective_message)
    return person(update.effective_user)


def requester_of_message(message: Message) -> Requester | None:
    if message.sender_chat is not None:
        chat = message.sender_chat
        language = message.from_user.language_code or "" if message.from_user else ""
        return Requester(chat.id, chat.title or chat.username or str(chat.id), as_chat=True, language=language)
    return person(message.from_user)


def person(user: User | None) -> Requester | None:
    if user is None:
        return None
    return Requester(user.id, user.full_name or user.username or str(user.id), language=user.language_code or "")


@dataclass
class ChatAdmins:
    """Whether a user administers a chat (getChatMember, cached for a few minutes)."""

    cache_s: float = ADMIN_CACHE_S
    _known: dict[tuple[int, int], tuple[bool, float]] = field(default_factory=dict)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        known = self._known.get((chat_id, user_id))
        now = time.monotonic()
        if known is not None and now - known[1] < self.cache_s:
            return known[0]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
            admin = member.status in ADMIN_STATUSES
        except TelegramError:
            admin = False  # unknown: not an admin (the chat may be gone)
        self._known[(chat_id, user_id)] = (admin, now)
        return admin

    async def may_act_for(self, bot: Bot, chat_id: int, tapper_id: int, owner_id: int) -> bool:
        """A button for `owner_id`'s request: its owner may use it, and so may the chat's admins when the owner
        is the chat itself (an anonymous admin's request)."""
        if tapper_id == owner_id:
            return True
        return owner_id == chat_id and await self.is_admin(bot, chat_id, tapper_id)
