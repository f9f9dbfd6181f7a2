"""What every Telegram handler needs, kept in `application.bot_data`: the shared Services, and who administers
which chat."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, ContextTypes

from ..core.services import Services
from .identity import ChatAdmins

SERVICES_KEY = "stylebot.services"


@dataclass
class TelegramServices(Services):
    chat_admins: ChatAdmins = field(default_factory=ChatAdmins)


def services(context: ContextTypes.DEFAULT_TYPE | Application[Any, Any, Any, Any, Any, Any]) -> TelegramServices:
    """The Services object of this application."""
    svc: TelegramServices = context.bot_data[SERVICES_KEY]
    return svc
