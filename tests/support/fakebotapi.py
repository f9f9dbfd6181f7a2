"""A fake Telegram Bot API server for end-to-end tests (aiohttp on 127.0.0.1, an ephemeral port).

The real python-telegram-bot client talks to it through `base_url`/`base_file_url`. Tests inject updates
(user messages, button taps, inline queries), and read back every call the bot made. Any method can be
told to answer its next N calls with 429 + retry_after.

Updates reach the bot as they do from Telegram: through getUpdates, or, once the bot has called setWebhook, as
POSTs to its URL carrying the registered secret (one at a time, in order; a refused one is retried until it
is taken, or until deleteWebhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

TOKEN = "123456789:AAF-fake-token-for-tests_0123456789"
ANONYMOUS_ADMIN_ID = 1087968824  # Telegram's GroupAnonymousBot: the `from` of an anonymous admin's messages
JSON_FIELDS = {
    "reply_markup",
    "reply_parameters",
    "media",
    "results",
    "commands",
    "allowed_updates",
    "caption_entities",
    "entities",
    "link_preview_options",
    "button",
    "scope",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 200
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw is not None else None

    @property
    def caption(self) -> str:
        return str(self.params.get("caption") or "")

    @property
    def text(self) -> str:
        return str(self.params.get("text") or "")

    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class TgUser:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None  # the IETF tag of the user's Telegram language (`en`, `zh-hans`…)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class TgChat:
    id: int
    type: str = "private"
    title: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        return data


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    path: str
    width: int = 0
    height: int = 0
    hide_size: bool = False  # getFile and the message leave file_size out (as a local Bot API server may)
    body_size: int | None = None  # serve this many bytes (`data` over and over), streamed without a length
    served: int = 0  # bytes of the body written to the bot so far


@dataclass
class Webhook:
    """What the bot registered with setWebhook."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None


@dataclass
class WebhookPost:
    update_id: int
    status: int  # the webhook's HTTP answer (0: no answer)


@dataclass
class _Failure:
    remaining: int
    retry_after: int


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return (0, 0)


@dataclass
class FakeBotApi:
    token: str = TOKEN
    bot_id: int = 777000111
    username: str = "StyleTestBot"
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    chat_admins: dict[int, set[int]] = field(default_factory=dict)  # what getChatMember answers
    # Users who never opened the bot: like Telegram, sending to their private chat gets 403 Forbidden until they
    # write to the bot there.
    not_started: set[int] = field(default_factory=set)
    webhook: Webhook | None = None
    webhook_posts: list[WebhookPost] = field(default_factory=list)  # every delivery attempt to the webhook
    # Sent as X-Telegram-Bot-Api-Secret-Token instead of the registered secret ("": no header), to see the bot's
    # webhook refuse what does not come from Telegram.
    secret_override: str | None = None

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._failures: dict[str, _Failure] = {}
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0
        self.delivered_update_ids: list[int] = []

    # ----- server --------------------------------------------------------------------------------

    async def start(self) -> FakeBotApi:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._new_update.set()
        await self._stop_pusher()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def fail_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 Too Many Requests and this retry_after."""
        self._failures[method] = _Failure(times, retry_after)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path:
                if stored.body_size is None:
                    stored.served = len(stored.data)
                    return web.Response(body=stored.data)
                return await self._stream_file(request, stored)
        return web.Response(status=404)

    @staticmethod
    async def _stream_file(request: web.Request, stored: StoredFile) -> web.StreamResponse:
        """The body in chunks with no Content-Length, until body_size bytes or the client stops reading."""
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = stored.data or b"\0"
        try:
            while stored.body_size is not None and stored.served < stored.body_size:
                part = chunk[: stored.body_size - stored.served]
                await response.write(part)
                stored.served += len(part)
            await response.write_eof()
        except (ConnectionError, RuntimeError):  # the client hung up
            pass
        return response

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, uploads = await self._read_params(request)
        call = Call(method, params, uploads, time.monotonic())
        self.calls.append(call)
        failure = self._failures.get(method)
        if failure is not None and failure.remaining > 0:
            failure.remaining -= 1
            call.status = 429
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {failure.retry_after}",
                    "parameters": {"retry_after": failure.retry_after},
                },
                status=429,
            )
        handler = getattr(self, f"_m_{method}", None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params, uploads)
        except ApiError as exc:
            call.status = exc.code
            body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            return web.json_response(body, status=exc.code)
        call.result = result
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        uploads: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params = await request.json() if request.can_read_body else {}
            return params, uploads
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = value.file.read()
            elif key in JSON_FIELDS:
                params[key] = json.loads(value)
            else:
                params[key] = value
        return params, uploads

    # ----- files and messages ----------------------------------------------------------------------

    def add_file(
        self, data: bytes, suffix: str = "jpg", *, hide_size: bool = False, body_size: int | None = None
    ) -> StoredFile:
        n = next(self._file_ids)
        width, height = _image_size(data)
        stored = StoredFile(
            f"FILE{n:05d}", f"U{n:05d}", data, f"files/file_{n}.{suffix}", width, height, hide_size, body_size
        )
        self.files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, stored: StoredFile, file_size: int | None = None) -> list[dict[str, Any]]:
        thumb = {
            "file_id": stored.file_id + "_s",
            "file_unique_id": stored.file_unique_id + "_s",
            "width": max(1, stored.width // 4),
            "height": max(1, stored.height // 4),
            "file_size": max(1, len(stored.data) // 8),
        }
        full = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": stored.width,
            "height": stored.height,
            "file_size": file_size if file_size is not None else len(stored.data),
        }
        if stored.hide_size:
            del thumb["file_size"], full["file_size"]
        return [thumb, full]

    def _new_message(self, chat: dict[str, Any], sender: dict[str, Any], **content: Any) -> dict[str, Any]:
        message_id = next(self._message_ids)
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": sender}
        message.update({k: v for k, v in content.items() if v is not None})
        self.messages[(int(chat["id"]), message_id)] = message
        if chat.get("type") == "private" and sender.get("id") == chat["id"]:  # the user wrote to the bot
            self.not_started.discard(int(chat["id"]))
        return message

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "StyleBot", "username": self.username}

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        """The chat a message is sent to (403 for the private chat of a user who never opened the bot)."""
        chat_id = int(chat_id)
        if chat_id in self.not_started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        for (cid, _), message in reversed(self.messages.items()):
            if cid == chat_id:
                chat: dict[str, Any] = message["chat"]
                return chat
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}

    def _reply_to(self, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if reply:
            found = self.messages.get((int(params["chat_id"]), int(reply["message_id"])))
            if found is None and not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
            return dict(found) if found else None
        return None

    def _media_file(self, ref: Any, uploads: dict[str, bytes]) -> StoredFile:
        if isinstance(ref, str) and ref.startswith("attach://"):
            return self.add_file(uploads[ref.removeprefix("attach://")])
        if isinstance(ref, str) and ref in uploads:
            return self.add_file(uploads[ref])
        if isinstance(ref, str) and ref.split("_s")[0] in self.files:
            return self.files[ref.split("_s")[0]]
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _upload(self, name: str, params: dict[str, Any], uploads: dict[str, bytes]) -> StoredFile:
        if name in uploads:
            return self.add_file(uploads[name])
        return self._media_file(params.get(name), uploads)

    def bot_photo(self, chat_id: int, caption: str, *, message_id: int | None = None) -> dict[str, Any]:
        """A photo message the bot posted earlier, made without a call (a status message set up by a test or a
        benchmark); message_id picks its id (it must not clash with the ids this server hands out from 100)."""
        stored = self.files.get("BOTPHOTO")
        if stored is None:
            stored = self.files["BOTPHOTO"] = StoredFile("BOTPHOTO", "UBOTPHOTO", b"", "files/bot_photo.jpg", 1, 1)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        message = {
            "message_id": message_id if message_id is not None else next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot_user(),
            "photo": self._photo_sizes(stored),
            "caption": caption,
            "reply_markup": {"inline_keyboard": [[{"text": "✖ Cancel", "callback_data": "cancel"}]]},  # bot.keyboards
        }
        self.messages[(chat_id, int(message["message_id"]))] = message  # type: ignore[call-overload]
        return message

    # ----- update injection --------------------------------------------------------------------------

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._new_update.set()
        return update

    @staticmethod
    def _entities(text: str | None) -> list[dict[str, Any]] | None:
        if not text or not text.startswith("/"):
            return None
        return [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]

    def user_text(
        self,
        chat: TgChat,
        user: TgUser,
        text: str,
        reply_to: dict[str, Any] | None = None,
        *,
        sender_chat: TgChat | None = None,
    ) -> dict[str, Any]:
        """A text message from a user (commands get their bot_command entity); `sender_chat` when they post as
        a chat (an anonymous group admin posts as the group; `user` is then ANONYMOUS_ADMIN)."""
        message = self._new_message(
            chat.as_dict(),
            user.as_dict(),
            text=text,
            entities=self._entities(text),
            reply_to_message=reply_to,
            sender_chat=sender_chat.as_dict() if sender_chat else None,
        )
        self._push({"message": message})
        return message

    def user_photo(
        self,
        chat: TgChat,
        user: TgUser,
        data: bytes,
        *,
        caption: str | None = None,
        reply_to: dict[str, Any] | None = None,
        media_group_id: str | None = None,
        file_size: int | None = None,
        sender_chat: TgChat | None = None,
    ) -> dict[str, Any]:
        """A photo from a user (file_size overrides what the update claims)."""
        stored = self.add_file(data)
        message = self._new_message(
            chat.as_dict(),
            user.as_dict(),
            photo=self._photo_sizes(stored, file_size),
            caption=caption,
            caption_entities=self._entities(caption),
            reply_to_message=reply_to,
            media_group_id=media_group_id,
            sender_chat=sender_chat.as_dict() if sender_chat else None,
        )
        self._push({"message": message})
        return message

    def user_document(
        self,
        chat: TgChat,
        user: TgUser,
        data: bytes,
        *,
        mime_type: str,
        file_name: str,
        caption: str | None = None,
        file_size: int | None = None,
        hide_size: bool = False,
        body_size: int | None = None,
    ) -> dict[str, Any]:
        """A file sent as a document (hide_size: no file_size anywhere; body_size: see StoredFile)."""
        stored = self.add_file(data, file_name.rsplit(".", 1)[-1], hide_size=hide_size, body_size=body_size)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size if file_size is not None else len(data),
        }
        if hide_size:
            del document["file_size"]
        message = self._new_message(
            chat.as_dict(), user.as_dict(), document=document, caption=caption, caption_entities=self._entities(caption)
        )
        self._push({"message": message})
        return message

    def tap(self, user: TgUser, message: dict[str, Any], data: str) -> str:
        """A tap on an inline button of one of the bot's messages; returns the callback query id."""
        current = self.messages.get((int(message["chat"]["id"]), int(message["message_id"])), message)
        query_id = f"Q{next(self._query_ids)}"
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "message": current,
                    "chat_instance": "ci",
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(self, user: TgUser, query: str = "") -> str:
        query_id = f"I{next(self._query_ids)}"
        self._push({"inline_query": {"id": query_id, "from": user.as_dict(), "query": query, "offset": ""}})
        return query_id

    async def inline_answer(
        self, user: TgUser, query: str = "", *, until: Callable[[list[dict[str, Any]]], bool], within_s: float = 15.0
    ) -> list[dict[str, Any]]:
        """Ask inline (again) until the bot's answer satisfies `until`; returns its results. A result is offered
        once the bot has recorded its delivery, a moment after sending it: no person's inline query comes sooner,
        but a test's can."""
        deadline = time.monotonic() + within_s
        while True:
            asked = self.inline_query(user, query)

            def answers(call: Call, asked: str = asked) -> bool:
                return call.params.get("inline_query_id") == asked

            [answer] = await self.wait_for("answerInlineQuery", answers, within_s=within_s)
            results: list[dict[str, Any]] = answer.params["results"]
            if until(results) or time.monotonic() > deadline:
                return results
            await asyncio.sleep(0.05)

    # ----- the webhook ----------------------------------------------------------------------------------

    async def _set_webhook(self, hook: Webhook | None, params: dict[str, Any]) -> None:
        await self._stop_pusher()
        if str(params.get("drop_pending_updates", "")).lower() in ("true", "1"):
            self._updates.clear()
        self.webhook = hook
        if hook is not None:
            self._pusher = asyncio.create_task(self._push_to(hook), name="fakebotapi-webhook")

    async def _stop_pusher(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
            self._pusher = None

    async def _push_to(self, hook: Webhook) -> None:
        """Telegram's side of a webhook: each pending update is POSTed, in order, until the bot takes it."""
        while True:
            if not self._updates:
                self._new_update.clear()
                await self._new_update.wait()
                continue
            update = self._updates[0]
            secret = hook.secret_token if self.secret_override is None else self.secret_override
            status = await self.post_to_webhook(update, secret=secret)
            if status == 200:
                self._updates.remove(update)
                self.delivered_update_ids.append(update["update_id"])
            else:
                await asyncio.sleep(0.1)

    async def post_to_webhook(self, update: dict[str, Any], *, secret: str | None) -> int:
        """POST one update to the registered webhook as Telegram does, with this secret (None or "": no header);
        returns the HTTP status (0: no answer)."""
        assert self.webhook is not None, "the bot has not called setWebhook"
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            async with self._client.post(self.webhook.url, json=update, headers=headers) as response:
                status = response.status
        except aiohttp.ClientError:
            status = 0
        self.webhook_posts.append(WebhookPost(int(update["update_id"]), status))
        return status

    async def wait_for_webhook_posts(self, count: int, *, within_s: float = 15.0) -> list[WebhookPost]:
        """Wait until `count` deliveries to the webhook were tried (whatever they answered)."""
        deadline = time.monotonic() + within_s
        while True:
            if len(self.webhook_posts) >= count:
                return self.webhook_posts[:count]
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {count} webhook post(s): {self.webhook_posts}")
            await asyncio.sleep(0.02)

    # ----- reading back ---------------------------------------------------------------------------------

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda call: True,
        *,
        count: int = 1,
        within_s: float = 15.0,
    ) -> list[Call]:
        """Wait until `count` successful calls of `method` match; returns them."""
        deadline = time.monotonic() + within_s
        while True:
            found = [c for c in self.calls_to(method) if predicate(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [
                    (c.method, c.status, c.params.get("text") or c.params.get("caption"))
                    for c in self.calls
                    if c.method != "getUpdates"
                ]
                raise AssertionError(f"timed out waiting for {count} {method} call(s); calls so far: {seen}")
            await asyncio.sleep(0.02)

    def message(self, call: Call) -> dict[str, Any]:
        """The message a successful send/edit call returned."""
        assert isinstance(call.result, dict), call
        return call.result

    # ----- Bot API methods ------------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        return {**self._bot_user(), "can_join_groups": True, "supports_inline_queries": True}

    async def _m_deleteWebhook(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        await self._set_webhook(None, params)
        return True

    async def _m_setWebhook(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if url and not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        hook = Webhook(url, None if secret is None else str(secret), params.get("allowed_updates")) if url else None
        await self._set_webhook(hook, params)
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        return {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _m_setMyCommands(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        return True

    async def _m_getUpdates(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                "to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self._updates and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        batch = self._updates[:limit]
        self.delivered_update_ids.extend(u["update_id"] for u in batch)
        return batch

    async def _m_sendMessage(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        return self._new_message(
            self._chat(params["chat_id"]),
            self._bot_user(),
            text=params["text"],
            reply_markup=params.get("reply_markup"),
            reply_to_message=self._reply_to(params),
        )

    async def _m_sendPhoto(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        stored = self._upload("photo", params, uploads)
        return self._new_message(
            self._chat(params["chat_id"]),
            self._bot_user(),
            photo=self._photo_sizes(stored),
            caption=params.get("caption"),
            reply_markup=params.get("reply_markup"),
            reply_to_message=self._reply_to(params),
        )

    async def _m_sendDocument(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        stored = self._upload("document", params, uploads)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": params.get("filename") or "file",
            "file_size": len(stored.data),
        }
        return self._new_message(
            self._chat(params["chat_id"]),
            self._bot_user(),
            document=document,
            caption=params.get("caption"),
            reply_markup=params.get("reply_markup"),
            reply_to_message=self._reply_to(params),
        )

    async def _m_sendAnimation(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        stored = self._upload("animation", params, uploads)
        animation = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": stored.width,
            "height": stored.height,
            "duration": 1,
            "file_name": params.get("filename") or "animation.gif",
            "mime_type": "image/gif",
            "file_size": len(stored.data),
        }
        document = {k: v for k, v in animation.items() if k not in ("width", "height", "duration")}
        return self._new_message(
            self._chat(params["chat_id"]),
            self._bot_user(),
            animation=animation,
            document=document,  # as Telegram does, for clients that predate animations
            caption=params.get("caption"),
            reply_markup=params.get("reply_markup"),
            reply_to_message=self._reply_to(params),
        )

    async def _m_sendMediaGroup(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media specified")
        group_id = f"G{next(self._file_ids)}"
        sent = []
        for item in media:
            stored = self._media_file(item["media"], uploads)
            sent.append(
                self._new_message(
                    self._chat(params["chat_id"]),
                    self._bot_user(),
                    photo=self._photo_sizes(stored),
                    caption=item.get("caption"),
                    media_group_id=group_id,
                )
            )
        return sent

    async def _m_sendChatAction(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        return True

    def _find(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    @staticmethod
    def _not_modified(before: dict[str, Any], after: dict[str, Any]) -> None:
        if before == after:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )

    async def _m_editMessageText(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        message = self._find(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        before = dict(message)
        message["text"] = params["text"]
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._not_modified(before, message)
        return message

    async def _m_editMessageCaption(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        message = self._find(params)
        if "photo" not in message and "document" not in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        before = dict(message)
        message["caption"] = params.get("caption", "")
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._not_modified(before, message)
        return message

    async def _m_editMessageMedia(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        message = self._find(params)
        if "photo" not in message:
            raise ApiError(400, "Bad Request: message can't be edited")
        media = params["media"]
        stored = self._media_file(media["media"], uploads)
        message["photo"] = self._photo_sizes(stored)
        message["caption"] = media.get("caption", "")
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        message = self._find(params)
        before = dict(message)
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._not_modified(before, message)
        return message

    async def _m_deleteMessage(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if self.messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        return True

    async def _m_answerInlineQuery(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        for result in params.get("results", []):
            if result.get("type") == "photo" and result.get("photo_file_id", "").split("_s")[0] not in self.files:
                raise ApiError(400, "Bad Request: wrong file_id specified")
        return True

    async def _m_getChatMember(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if user_id in self.chat_admins.get(chat_id, set()):
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    async def _m_getFile(self, params: dict[str, Any], uploads: dict[str, bytes]) -> Any:
        stored = self.files.get(str(params.get("file_id", "")).split("_s")[0])
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        answer = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }
        if stored.hide_size:
            del answer["file_size"]
        return answer
