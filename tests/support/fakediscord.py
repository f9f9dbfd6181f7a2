"""A fake Discord (REST API v10, the gateway websocket and a CDN) for end-to-end tests, on one aiohttp port.

The real discord.py client talks to it over real sockets: REST under `{url}/api/v10`, the gateway at
`ws://…/gateway`, attachment bytes at `{url}/attachments/{channel}/{id}/{filename}`. Tests play users through
async methods (`send_slash_command`, `send_message`, `click_button`, `select`, `message_context_menu`,
`autocomplete`, `submit_modal`), which build the same INTERACTION_CREATE / MESSAGE_CREATE payloads Discord
sends, and read back everything the bot did: `calls` (every REST request, with its JSON and uploaded files),
`messages` (with attachments' bytes, components, flags and the timed history of edits) and `interactions`
(how each interaction was answered, or why it failed).

Discord rules it models (each has a test in tests/test_support_fakediscord.py):

- the 3 s rule: an interaction callback that comes later than `ack_deadline_s` (as it was when the interaction
  was dispatched) gets 404 Unknown interaction (10062), and the interaction is recorded as failed (`failure`;
  `failed` is also true for one never answered in time); a second callback is 400 (40060);
- interaction tokens last 15 minutes (`token_ttl_s`): later webhook calls get 401 Invalid Webhook Token (50027);
- uploads over the limit (10 MiB, or the guild's / interaction's `attachment_size_limit`) get 413 (40005);
- rate limits: `fail_next(route, times, retry_after)` answers the next calls with 429, Discord's JSON body and
  X-RateLimit-* headers (plus `Via`, which discord.py takes as proof the 429 is Discord's, not Cloudflare's);
  every other answer carries X-RateLimit-* headers that never make discord.py wait;
- channel permissions, computed as Discord does (@everyone, roles, then the channel's overwrites): posting
  without View Channel is 403 Missing Access (50001); without Send Messages, Attach Files (for files) or Read
  Message History (for replies) 403 Missing Permissions (50013); interactions carry them as `app_permissions`;
- privileged intents: an IDENTIFY asking for Message Content (1 << 15), Server Members or Presence while the app
  does not have it enabled is closed with 4014 Disallowed intent(s); without the Message Content intent, a guild
  message that does not mention the bot reaches it with empty content, embeds, attachments and components;
  MESSAGE_CREATE is sent only for the GUILD_MESSAGES / DIRECT_MESSAGES intents asked for;
- the gateway: HELLO, IDENTIFY → READY (guilds unavailable) then GUILD_CREATE per guild, HEARTBEAT → ACK, RESUME
  (events sent while the bot was away are replayed, then RESUMED; an unknown session gets INVALID_SESSION),
  `compress=zlib-stream` (one zlib stream per connection, each payload ending in a Z_SYNC_FLUSH).

Pointing discord.py (2.7) at another server, e.g. with STYLEBOT_DISCORD_API_URL (default
`https://discord.com/api/v10`) and STYLEBOT_DISCORD_GATEWAY_URL (default `wss://gateway.discord.gg/`), takes two
class attributes, both process-wide, set before `Client.start`/`login`:

- `discord.http.Route.BASE = api_url` (a `str`: the REST base, with the `/api/v10` part; every REST call,
  interaction callbacks and webhooks included, is `Route.BASE + path`);
- `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)` (a plain `Client` connects there
  and never asks GET /gateway/bot; discord.py adds `?v=10&encoding=json&compress=zlib-stream`, and resumes at
  READY's `resume_gateway_url`; an `AutoShardedClient` asks GET /gateway/bot instead, whose `url` this fake
  points at itself too, untested).

`discord.http.set_api_version()` resets `Route.BASE` to discord.com, so it must not run after the override.

Nothing else is needed: attachment URLs come from the payloads (this fake's CDN); asset URLs (avatars, icons) stay
on `discord.Asset.BASE`, which a bot that does not fetch avatars never uses. `point_discord_py_at` sets both
attributes and puts them back. discord.py picks `zstd-stream` instead of zlib when `zstandard` (or Python 3.14's
`compression.zstd`) is importable; this fake does not speak zstd and closes such a connection with 4000.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import yarl
from aiohttp import web

TOKEN = "MTA0MDAwMDAwMDAwMDAwMDAwMQ.FakeTk.fake-discord-bot-token-for-tests"
API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # 10 MiB: what a server without boosts allows per file

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents)
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15

# Permission bits (https://discord.com/developers/docs/topics/permissions)
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1
EVERYONE_DEFAULT = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
) | USE_APPLICATION_COMMANDS

# Message flags and interaction types
EPHEMERAL = 1 << 6
LOADING = 1 << 7
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = (
    4,
    5,
    6,
    7,
    8,
    9,
)
GUILD_TEXT, DM = 0, 1

# Application command option types, for options given as plain Python values
_OPTION_TYPES: dict[type, int] = {str: 3, int: 4, bool: 5, float: 10}
_ATTACHMENT_OPTION = 11


def _snowflakes() -> Iterator[int]:
    """Ids as Discord makes them: milliseconds since 2015 in the high bits, so `created_at` reads right."""
    for n in itertools.count(1):
        yield ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (n & 0xFFF)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


class ApiError(Exception):
    """A Discord error answer: HTTP status, Discord's JSON error code and message."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message


def _missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


# ----- the world: users, guilds, channels ---------------------------------------------------------------


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    locale: str = "en-US"  # the user's client language, sent as the interaction's `locale`

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
        }


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0; the @everyone role's id is the guild's) or a member (1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = GUILD_TEXT
    guild_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient: FakeUser | None = None  # the other end of a DM channel

    def as_dict(self) -> dict[str, Any]:
        if self.type == DM:
            assert self.recipient is not None
            return {"id": str(self.id), "type": DM, "recipients": [self.recipient.as_dict()], "last_message_id": None}
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": 0,
            "permission_overwrites": [o.as_dict() for o in self.overwrites],
            "nsfw": False,
            "topic": None,
            "parent_id": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }


@dataclass
class FakeMember:
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: float = field(default_factory=time.time)

    def as_dict(self, *, permissions: int | None = None, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "joined_at": _iso(self.joined_at),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if with_user:
            data["user"] = self.user.as_dict()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)  # the @everyone role has the guild's id
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    locale: str = "en-US"  # the server's preferred locale: the interaction's `guild_locale`
    attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT

    def permissions(self, user_id: int, channel: FakeChannel) -> int:
        """Discord's permission computation: the owner and Administrator have all; otherwise @everyone's and the
        member's roles' permissions, then the channel's @everyone, role and member overwrites, in that order."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members[user_id]
        base = self.roles[self.id].permissions
        for role_id in member.role_ids:
            base |= self.roles[role_id].permissions
        if base & ADMINISTRATOR:
            return ALL_PERMISSIONS
        by_id = {(o.type, o.id): o for o in channel.overwrites}
        everyone = by_id.get((0, self.id))
        if everyone is not None:
            base = (base & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.role_ids:
            overwrite = by_id.get((0, role_id))
            if overwrite is not None:
                allow, deny = allow | overwrite.allow, deny | overwrite.deny
        base = (base & ~deny) | allow
        own = by_id.get((1, user_id))
        if own is not None:
            base = (base & ~own.deny) | own.allow
        return base

    def as_dict(self) -> dict[str, Any]:
        """The GUILD_CREATE payload."""
        return {
            "id": str(self.id),
            "name": self.name,
            "owner_id": str(self.owner_id),
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "features": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": self.locale,
            "system_channel_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "roles": [r.as_dict() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.as_dict() for c in self.channels.values()],
            "threads": [],
            "members": [m.as_dict() for m in self.members.values()],
            "member_count": len(self.members),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "joined_at": _iso(time.time()),
        }


# ----- messages and what the bot sent -----------------------------------------------------------------------


@dataclass
class UploadedFile:
    """One `files[n]` part of a multipart request."""

    field: str
    filename: str
    data: bytes
    content_type: str


@dataclass
class FakeAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    description: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description:
            data["description"] = self.description
        return data


@dataclass
class MessageEdit:
    at: float  # time.monotonic() of the edit
    changes: dict[str, Any]  # the fields the edit set, as the bot sent them


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    flags: int = 0
    mentions: list[FakeUser] = field(default_factory=list)
    reply_to: FakeMessage | None = None  # the message this one replies to (its message_reference)
    type: int = 0
    interaction_id: int | None = None  # the interaction this message answers
    webhook_id: int | None = None
    created_at: float = field(default_factory=time.time)
    sent_at: float = field(default_factory=time.monotonic)
    edits: list[MessageEdit] = field(default_factory=list)
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred interaction response still showing "the bot is thinking"."""
        return bool(self.flags & LOADING)

    @property
    def files(self) -> dict[str, bytes]:
        return {a.filename: a.data for a in self.attachments}

    def custom_ids(self) -> list[str]:
        """The custom_id of every button and select in the message's action rows."""
        return [c["custom_id"] for row in self.components for c in row.get("components", []) if "custom_id" in c]

    def as_dict(self, *, with_referenced: bool = True) -> dict[str, Any]:
        """The message payload; a reply carries `message_reference` and (one level deep) `referenced_message`."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.as_dict(),
            "content": self.content,
            "timestamp": _iso(self.created_at),
            "edited_timestamp": _iso(self.created_at + self.edits[-1].at - self.sent_at) if self.edits else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [u.as_dict() for u in self.mentions],
            "mention_roles": [],
            "attachments": [a.as_dict() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.reply_to is not None:
            target = self.reply_to
            data["message_reference"] = {"type": 0, "message_id": str(target.id), "channel_id": str(target.channel_id)}
            if target.guild_id is not None:
                data["message_reference"]["guild_id"] = str(target.guild_id)
            if with_referenced:
                data["referenced_message"] = None if target.deleted else target.as_dict(with_referenced=False)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        return data


@dataclass
class Call:
    """One REST request: `route` is its template (`POST /channels/{channel_id}/messages`), `path` the real one."""

    route: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    at: float
    status: int = 0
    response: Any = None


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched, and how the bot answered it (a test's handle to await the answer)."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    channel: FakeChannel
    user: FakeUser
    attachment_size_limit: int
    ack_deadline_s: float
    dispatched_at: float = field(default_factory=time.monotonic)
    callback_type: int | None = None
    callback_data: dict[str, Any] = field(default_factory=dict)
    acknowledged_at: float | None = None
    failure: str | None = None  # why Discord would show "This interaction failed"
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    target_message: FakeMessage | None = None  # the message of a component interaction
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def failed(self) -> bool:
        """What the user sees as "This interaction failed": a refused late callback, or none within the deadline."""
        if self.failure is not None:
            return True
        return self.callback_type is None and time.monotonic() - self.dispatched_at > self.ack_deadline_s

    @property
    def choices(self) -> list[dict[str, Any]]:
        """An autocomplete answer's choices."""
        return list(self.callback_data.get("choices", []))

    async def response(self, within_s: float = 5.0) -> FakeInteraction:
        """Wait until the bot called back (or its callback was refused)."""
        try:
            await asyncio.wait_for(self.answered.wait(), within_s)
        except TimeoutError:
            raise AssertionError(f"the bot did not answer interaction {self.id} within {within_s} s") from None
        return self


# ----- the gateway ------------------------------------------------------------------------------------------------


class _ZlibStream:
    """`compress=zlib-stream`: one deflate stream per connection, each payload flushed with Z_SYNC_FLUSH."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj()

    def pack(self, text: str) -> bytes:
        return self._deflate.compress(text.encode()) + self._deflate.flush(zlib.Z_SYNC_FLUSH)


@dataclass
class GatewaySession:
    """A session IDENTIFY opened: it outlives its connection so that RESUME can replay what the bot missed."""

    session_id: str
    intents: int
    events: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for replay on RESUME
    sequence: int = 0
    ws: web.WebSocketResponse | None = None
    stream: _ZlibStream | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        if self.ws is None or self.ws.closed:
            return
        text = json.dumps(payload)
        if self.stream is not None:
            await self.ws.send_bytes(self.stream.pack(text))
        else:
            await self.ws.send_str(text)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        payload = {"op": 0, "t": event, "s": self.sequence, "d": data}
        self.events.append(payload)
        await self.send(payload)


@dataclass
class _Failure:
    remaining: int
    retry_after: float
    is_global: bool


Handler = Callable[[web.Request, Call], Awaitable[Any]]


def _need(condition: bool, error: ApiError) -> None:
    if not condition:
        raise error


@dataclass
class FakeDiscord:
    """The fake: a bot application (`app_id`, `token`), its guilds, channels and users, and the server."""

    token: str = TOKEN
    app_id: int = 1040000000000000001
    bot_name: str = "StyleBot"
    message_content_enabled: bool = False  # the privileged intents the app has switched on in the developer portal
    members_enabled: bool = False
    presences_enabled: bool = False
    ack_deadline_s: float = 3.0
    token_ttl_s: float = 15 * 60.0
    heartbeat_interval_ms: int = 41250
    dm_upload_limit: int = DEFAULT_UPLOAD_LIMIT
    calls: list[Call] = field(default_factory=list)
    guilds: dict[int, FakeGuild] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    users: dict[int, FakeUser] = field(default_factory=dict)
    messages: dict[int, FakeMessage] = field(default_factory=dict)  # every message by id, deleted ones included
    interactions: dict[int, FakeInteraction] = field(default_factory=dict)
    commands: dict[int | None, list[dict[str, Any]]] = field(default_factory=dict)  # by guild id (None: global)
    typing: list[tuple[int, float]] = field(default_factory=list)  # (channel id, monotonic time)

    def __post_init__(self) -> None:
        self._ids = _snowflakes()
        self._failures: dict[str, _Failure] = {}
        self._sessions: dict[str, GatewaySession] = {}
        self._current: GatewaySession | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.identifies: list[dict[str, Any]] = []  # every IDENTIFY's `d`
        self.resumes: list[dict[str, Any]] = []  # every RESUME's `d`
        self.heartbeats = 0
        self.gateway_queries: list[dict[str, str]] = []  # the query of every gateway connection (v, encoding, compress)
        self.cdn: dict[int, FakeAttachment] = {}  # every attachment by id
        self.cdn_reads: list[int] = []  # the attachment ids the CDN served, in order
        self.closed_with: list[int] = []  # close codes this fake sent on the gateway
        self.bot_user = FakeUser(self.app_id, self.bot_name, bot=True)
        self.owner = self.create_user("owner")

    # ----- server -----------------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._add_api_routes(app)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._handle_cdn)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        for session in self._sessions.values():
            if session.ws is not None:
                await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What `discord.http.Route.BASE` must be (STYLEBOT_DISCORD_API_URL)."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What `DiscordWebSocket.DEFAULT_GATEWAY` must be (STYLEBOT_DISCORD_GATEWAY_URL)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def fail_next(self, route: str, times: int = 1, retry_after: float = 0.5, *, is_global: bool = False) -> None:
        """Answer the next `times` calls of `route` (e.g. `POST /channels/{channel_id}/messages`) with 429."""
        self._failures[route] = _Failure(times, retry_after, is_global)

    # ----- building the world ----------------------------------------------------------------------------

    def create_user(self, username: str, *, locale: str = "en-US", global_name: str | None = None) -> FakeUser:
        user = FakeUser(next(self._ids), username, global_name, locale=locale)
        self.users[user.id] = user
        return user

    def create_guild(
        self,
        name: str = "Test Server",
        *,
        bot_permissions: int = EVERYONE_DEFAULT,
        everyone_permissions: int = EVERYONE_DEFAULT,
        locale: str = "en-US",
        attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT,
    ) -> FakeGuild:
        """A server the bot is in, owned by `owner`; the bot has a managed role with `bot_permissions`."""
        guild = FakeGuild(
            next(self._ids), name, self.owner.id, locale=locale, attachment_size_limit=attachment_size_limit
        )
        guild.roles[guild.id] = FakeRole(guild.id, "@everyone", everyone_permissions)
        bot_role = FakeRole(next(self._ids), self.bot_name, bot_permissions, position=1)
        guild.roles[bot_role.id] = bot_role
        guild.members[self.owner.id] = FakeMember(self.owner)
        guild.members[self.app_id] = FakeMember(self.bot_user, [bot_role.id])
        self.guilds[guild.id] = guild
        return guild

    def add_member(self, guild: FakeGuild, user: FakeUser, *, role_ids: Sequence[int] = ()) -> FakeMember:
        member = FakeMember(user, list(role_ids))
        guild.members[user.id] = member
        return member

    def create_channel(
        self, guild: FakeGuild, name: str = "general", *, bot_allow: int = 0, bot_deny: int = 0
    ) -> FakeChannel:
        """A text channel; `bot_deny` (e.g. SEND_MESSAGES | ATTACH_FILES) takes permissions from the bot there."""
        channel = FakeChannel(next(self._ids), name, GUILD_TEXT, guild.id)
        if bot_allow or bot_deny:
            channel.overwrites.append(Overwrite(self.app_id, 1, bot_allow, bot_deny))
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel between the bot and `user` (made on first use, as POST /users/@me/channels does)."""
        for channel in self.channels.values():
            if channel.type == DM and channel.recipient is user:
                return channel
        channel = FakeChannel(next(self._ids), "", DM, None, recipient=user)
        self.channels[channel.id] = channel
        return channel

    def bot_permissions(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
        return self.guilds[channel.guild_id].permissions(self.app_id, channel)

    def _upload_limit(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return self.dm_upload_limit
        return self.guilds[channel.guild_id].attachment_size_limit

    # ----- REST plumbing ----------------------------------------------------------------------------------

    def _add_api_routes(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._post_callback),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", self._get_webhook_message),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", self._patch_webhook_message),
            ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", self._delete_webhook_message),
            ("POST", "/webhooks/{application_id}/{token}", self._post_followup),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._post_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("POST", "/channels/{channel_id}/typing", self._post_typing),
            ("POST", "/users/@me/channels", self._post_dm),
            ("GET", "/users/{user_id}", self._get_user),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, self._api(f"{method} {path}", handler))
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api("* unknown", self._unknown_route))

    def _api(self, route: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Wrap a route handler: record the call, check the bot token, play 429s, answer JSON with rate limit
        headers, turn ApiError into Discord's `{"message", "code"}`."""

        async def handle(request: web.Request) -> web.Response:
            body, files = await self._read_body(request)
            call = Call(route, request.path, dict(request.query), body, files, time.monotonic())
            self.calls.append(call)
            failure = self._failures.get(route)
            if failure is not None and failure.remaining > 0:
                failure.remaining -= 1
                call.status = 429
                return self._too_many_requests(route, failure)
            try:
                if not route.split(" ", 1)[1].startswith(("/interactions/", "/webhooks/")):  # these take no token
                    _need(
                        request.headers.get("Authorization") == f"Bot {self.token}",
                        ApiError(401, 0, "401: Unauthorized"),
                    )
                result = await handler(request, call)
            except ApiError as exc:
                call.status, call.response = exc.status, {"message": exc.message, "code": exc.code}
                return _json_response(call.response, status=exc.status, headers=self._ratelimit_headers(route))
            call.status, call.response = (204 if result is None else 200), result
            if result is None:
                return web.Response(status=204, headers=self._ratelimit_headers(route))
            return _json_response(result, headers=self._ratelimit_headers(route))

        return handle

    @staticmethod
    def _ratelimit_headers(route: str, *, remaining: int = 4, reset_after: float = 1.0) -> dict[str, str]:
        """Headers discord.py reads on every answer: a bucket that is never exhausted, so it never waits."""
        return {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(route.encode()).hexdigest()[:16],
        }

    def _too_many_requests(self, route: str, failure: _Failure) -> web.Response:
        headers = self._ratelimit_headers(route, remaining=0, reset_after=failure.retry_after)
        headers["Retry-After"] = str(max(1, round(failure.retry_after)))
        headers["X-RateLimit-Scope"] = "shared" if not failure.is_global else "global"
        headers["Via"] = "1.1 google"  # discord.py treats a 429 without it as a Cloudflare ban
        if failure.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": failure.retry_after,
            "global": failure.is_global,
        }
        return _json_response(body, status=429, headers=headers)

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """JSON, or multipart/form-data with `payload_json` and `files[n]` parts (as discord.py sends files)."""
        if not request.can_read_body:
            return None, []
        if request.content_type != "multipart/form-data":
            text = await request.text()
            return (json.loads(text) if text else None), []
        body: Any = None
        files: list[UploadedFile] = []
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files.append(UploadedFile(key, value.filename, value.file.read(), value.content_type))
            elif key == "payload_json":
                body = json.loads(str(value))
        return body, files

    async def _unknown_route(self, request: web.Request, call: Call) -> Any:
        raise ApiError(404, 0, "404: Not Found")

    # ----- login ----------------------------------------------------------------------------------------------

    async def _get_me(self, request: web.Request, call: Call) -> Any:
        return {**self.bot_user.as_dict(), "verified": True, "mfa_enabled": False, "flags": 0, "bot": True}

    async def _get_gateway(self, request: web.Request, call: Call) -> Any:
        return {"url": self.gateway_url}

    async def _get_gateway_bot(self, request: web.Request, call: Call) -> Any:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    def _application_flags(self) -> int:
        """GATEWAY_PRESENCE_LIMITED (1 << 13), GATEWAY_GUILD_MEMBERS_LIMITED (1 << 15) and
        GATEWAY_MESSAGE_CONTENT_LIMITED (1 << 19): what an unverified app shows for the intents it switched on."""
        return (self.presences_enabled << 13) | (self.members_enabled << 15) | (self.message_content_enabled << 19)

    async def _get_application(self, request: web.Request, call: Call) -> Any:
        return {
            "id": str(self.app_id),
            "name": self.bot_name,
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner.as_dict(),
            "verify_key": "0" * 64,
            "flags": self._application_flags(),
            "team": None,
            "interactions_endpoint_url": None,
            "bot": self.bot_user.as_dict(),
        }

    # ----- application commands ------------------------------------------------------------------------

    @staticmethod
    def _guild_key(request: web.Request) -> int | None:
        guild_id = request.match_info.get("guild_id")
        return int(guild_id) if guild_id is not None else None

    def _check_app(self, request: web.Request) -> None:
        _need(int(request.match_info["application_id"]) == self.app_id, ApiError(403, 50001, "Missing Access"))

    async def _get_commands(self, request: web.Request, call: Call) -> Any:
        self._check_app(request)
        return self.commands.get(self._guild_key(request), [])

    async def _put_commands(self, request: web.Request, call: Call) -> Any:
        """Bulk overwrite: the list replaces what was there; a command keeps its id if its name and type stay."""
        self._check_app(request)
        guild_id = self._guild_key(request)
        before = {(c["name"], c.get("type", 1)): c["id"] for c in self.commands.get(guild_id, [])}
        registered = []
        for command in call.json or []:
            kind = command.get("type", 1)
            registered.append(
                {
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    **command,
                    "id": before.get((command["name"], kind)) or str(next(self._ids)),
                    "application_id": str(self.app_id),
                    "type": kind,
                    "version": str(next(self._ids)),
                    **({"guild_id": str(guild_id)} if guild_id is not None else {}),
                }
            )
        self.commands[guild_id] = registered
        return registered

    def find_command(self, name: str, guild_id: int | None, kind: int = 1) -> dict[str, Any]:
        """A registered command a user can invoke there (the guild's own commands, then global ones)."""
        for key in (guild_id, None):
            for command in self.commands.get(key, []):
                if command["name"] == name and command.get("type", 1) == kind:
                    return command
        raise AssertionError(f"no command {name!r} (type {kind}) is registered; registered: {self.commands}")

    # ----- channels and messages ------------------------------------------------------------------------

    def _channel(self, request: web.Request) -> FakeChannel:
        channel = self.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        _need(bool(self.bot_permissions(channel) & VIEW_CHANNEL), ApiError(403, 50001, "Missing Access"))
        return channel

    def _message(self, channel: FakeChannel, message_id: str) -> FakeMessage:
        message = self.messages.get(int(message_id)) if message_id.isdigit() else None
        if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _get_channel(self, request: web.Request, call: Call) -> Any:
        return self._channel(request).as_dict()

    async def _get_message(self, request: web.Request, call: Call) -> Any:
        channel = self._channel(request)
        _need(bool(self.bot_permissions(channel) & READ_MESSAGE_HISTORY), _missing_permissions())
        return self._message(channel, request.match_info["message_id"]).as_dict()

    def _check_uploads(self, files: list[UploadedFile], limit: int) -> None:
        """Discord refuses a file over the upload limit with 413 and code 40005."""
        for upload in files:
            _need(len(upload.data) <= limit, ApiError(413, 40005, "Request entity too large"))

    def _attachments(self, channel_id: int, body: dict[str, Any], files: list[UploadedFile]) -> list[FakeAttachment]:
        """The new files of a message: `files[n]` with the `attachments` entry whose id is n (its description)."""
        described = {str(a.get("id")): a for a in body.get("attachments", []) if isinstance(a, dict)}
        made = []
        for upload in files:
            index = upload.field.removeprefix("files[").removesuffix("]")
            meta = described.get(index, {})
            made.append(
                self._store_attachment(
                    channel_id,
                    meta.get("filename") or upload.filename,
                    upload.data,
                    upload.content_type,
                    meta.get("description"),
                )
            )
        return made

    def _store_attachment(
        self, channel_id: int, filename: str, data: bytes, content_type: str, description: str | None = None
    ) -> FakeAttachment:
        attachment_id = next(self._ids)
        url = f"{self.url}/attachments/{channel_id}/{attachment_id}/{filename}"
        attachment = FakeAttachment(attachment_id, filename, data, content_type, url, description)
        self.cdn[attachment_id] = attachment
        return attachment

    def _new_message(
        self, channel: FakeChannel, author: FakeUser, body: dict[str, Any], files: list[UploadedFile], **extra: Any
    ) -> FakeMessage:
        message = FakeMessage(
            next(self._ids),
            channel.id,
            channel.guild_id,
            author,
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            attachments=self._attachments(channel.id, body, files),
            flags=int(body.get("flags") or 0),
            **extra,
        )
        message.mentions = [u for u in self.users.values() if u.mention in message.content]
        if self.bot_user.mention in message.content:
            message.mentions.append(self.bot_user)
        self.messages[message.id] = message
        return message

    def _reply_to(self, body: dict[str, Any]) -> FakeMessage | None:
        """The message a `message_reference` points at: an unknown one is 400 unless fail_if_not_exists is false."""
        reference = body.get("message_reference")
        if not reference:
            return None
        target = self.messages.get(int(reference["message_id"]))
        if target is None or target.deleted:
            _need(reference.get("fail_if_not_exists") is False, ApiError(400, 50035, "Invalid Form Body"))
            return None
        return target

    async def _post_message(self, request: web.Request, call: Call) -> Any:
        """Create Message: View Channel, Send Messages, Attach Files for files, Read Message History for replies."""
        channel = self._channel(request)
        body: dict[str, Any] = call.json or {}
        allowed = self.bot_permissions(channel)
        _need(bool(allowed & SEND_MESSAGES), _missing_permissions())
        _need(not call.files or bool(allowed & ATTACH_FILES), _missing_permissions())
        _need(not body.get("message_reference") or bool(allowed & READ_MESSAGE_HISTORY), _missing_permissions())
        self._check_uploads(call.files, self._upload_limit(channel))
        _need(
            bool(body.get("content") or body.get("embeds") or call.files or body.get("components")),
            ApiError(400, 50006, "Cannot send an empty message"),
        )
        reply_to = self._reply_to(body)
        message = self._new_message(
            channel, self.bot_user, body, call.files, reply_to=reply_to, type=19 if reply_to else 0
        )
        await self._dispatch_message("MESSAGE_CREATE", message)
        return message.as_dict()

    def _edit(self, message: FakeMessage, body: dict[str, Any], files: list[UploadedFile]) -> None:
        """Edit in place: the fields given replace the old ones; `attachments` lists the old files to keep (by
        id) and describes new ones; new files are added."""
        for key in ("content", "embeds", "components"):
            if key in body:
                setattr(message, key, body[key] if body[key] is not None else ("" if key == "content" else []))
        if "flags" in body and body["flags"] is not None:
            message.flags = (message.flags & (EPHEMERAL | LOADING)) | int(body["flags"])
        if "attachments" in body:
            keep = {str(a.get("id")) for a in body["attachments"] or []}
            message.attachments = [a for a in message.attachments if str(a.id) in keep]
        message.attachments += self._attachments(message.channel_id, body, files)
        message.edits.append(MessageEdit(time.monotonic(), dict(body)))

    async def _patch_message(self, request: web.Request, call: Call) -> Any:
        channel = self._channel(request)
        message = self._message(channel, request.match_info["message_id"])
        _need(message.author is self.bot_user, ApiError(403, 50005, "Cannot edit a message authored by another user"))
        self._check_uploads(call.files, self._upload_limit(channel))
        self._edit(message, call.json or {}, call.files)
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message.as_dict()

    async def _delete_message(self, request: web.Request, call: Call) -> Any:
        channel = self._channel(request)
        message = self._message(channel, request.match_info["message_id"])
        _need(message.author is self.bot_user, _missing_permissions())  # Manage Messages is not modelled
        await self._delete(message)
        return None

    async def _delete(self, message: FakeMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            data = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            await self._dispatch_for(message, "MESSAGE_DELETE", data)

    async def _post_typing(self, request: web.Request, call: Call) -> Any:
        channel = self._channel(request)
        _need(bool(self.bot_permissions(channel) & SEND_MESSAGES), _missing_permissions())
        self.typing.append((channel.id, time.monotonic()))
        return None

    async def _post_dm(self, request: web.Request, call: Call) -> Any:
        user = self.users.get(int((call.json or {}).get("recipient_id", 0)))
        if user is None:
            raise ApiError(400, 50035, "Invalid Form Body")
        return self.dm_channel(user).as_dict()

    async def _get_user(self, request: web.Request, call: Call) -> Any:
        user = self.users.get(int(request.match_info["user_id"])) if request.match_info["user_id"].isdigit() else None
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return user.as_dict()

    # ----- interaction callbacks and webhooks --------------------------------------------------------------

    async def _post_callback(self, request: web.Request, call: Call) -> Any:
        """Create Interaction Response: once, within `ack_deadline_s` of dispatch, of a type the interaction
        allows. With `?with_response=1` (discord.py always asks) the answer says what it created."""
        interaction = self.interactions.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        late = time.monotonic() - interaction.dispatched_at
        if late > interaction.ack_deadline_s:
            interaction.failure = (
                f"the callback came {late:.2f} s after dispatch (deadline {interaction.ack_deadline_s} s)"
            )
            interaction.answered.set()
            raise ApiError(404, 10062, "Unknown interaction")
        _need(interaction.callback_type is None, ApiError(400, 40060, "Interaction has already been acknowledged."))
        body: dict[str, Any] = call.json or {}
        kind = int(body.get("type", 0))
        _need(kind in self._allowed_callbacks(interaction.type), ApiError(400, 50035, "Invalid Form Body"))
        data: dict[str, Any] = body.get("data") or {}
        self._check_uploads(call.files, interaction.attachment_size_limit)
        resource = await self._respond(interaction, kind, data, call.files)
        interaction.callback_type, interaction.callback_data = kind, data
        interaction.acknowledged_at = time.monotonic()
        interaction.answered.set()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return None
        return self._callback_answer(interaction, kind, resource)

    @staticmethod
    def _allowed_callbacks(interaction_type: int) -> set[int]:
        if interaction_type == AUTOCOMPLETE:
            return {AUTOCOMPLETE_RESULT}
        if interaction_type in (MESSAGE_COMPONENT, MODAL_SUBMIT):
            return {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL}
        return {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL}

    async def _respond(
        self, interaction: FakeInteraction, kind: int, data: dict[str, Any], files: list[UploadedFile]
    ) -> FakeMessage | None:
        """What a callback does: 4 posts the original response, 5 posts a "thinking" one, 7 edits the
        component's message, 6/8/9 post nothing (8's choices and 9's modal are kept in callback_data)."""
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            flags = int(data.get("flags") or 0) & EPHEMERAL
            body = {**data, "flags": flags | (LOADING if kind == DEFERRED_CHANNEL_MESSAGE else 0)}
            if kind == DEFERRED_CHANNEL_MESSAGE:
                body = {"flags": body["flags"]}
            interaction.original = self._interaction_message(interaction, body, files)
            if not interaction.original.ephemeral:
                await self._dispatch_message("MESSAGE_CREATE", interaction.original)
            return interaction.original
        if kind == UPDATE_MESSAGE:
            message = interaction.target_message
            assert message is not None
            self._edit(message, data, files)
            await self._dispatch_message("MESSAGE_UPDATE", message)
            return message
        return None

    def _interaction_message(
        self, interaction: FakeInteraction, body: dict[str, Any], files: list[UploadedFile]
    ) -> FakeMessage:
        return self._new_message(
            interaction.channel,
            self.bot_user,
            body,
            files,
            type=20 if interaction.type == APPLICATION_COMMAND else 0,
            interaction_id=interaction.id,
            webhook_id=self.app_id,
        )

    @staticmethod
    def _callback_answer(interaction: FakeInteraction, kind: int, message: FakeMessage | None) -> dict[str, Any]:
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            summary.update(
                response_message_id=str(message.id),
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
            resource["message"] = message.as_dict()
        return {"interaction": summary, "resource": resource}

    def _by_token(self, request: web.Request) -> FakeInteraction:
        """The interaction whose token a webhook call uses: unknown or older than `token_ttl_s` is 401 50027."""
        token = request.match_info["token"]
        found = [i for i in self.interactions.values() if i.token == token]
        _need(
            int(request.match_info["application_id"]) == self.app_id and bool(found),
            ApiError(401, 50027, "Invalid Webhook Token"),
        )
        interaction = found[0]
        age = time.monotonic() - interaction.dispatched_at
        _need(age <= self.token_ttl_s, ApiError(401, 50027, "Invalid Webhook Token"))
        return interaction

    @staticmethod
    def _webhook_message(interaction: FakeInteraction, message_id: str) -> FakeMessage:
        if message_id == "@original":
            found = interaction.original
        else:
            found = next((m for m in interaction.followups if str(m.id) == message_id), None)
        if found is None or found.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return found

    async def _get_webhook_message(self, request: web.Request, call: Call) -> Any:
        interaction = self._by_token(request)
        return self._webhook_message(interaction, request.match_info["message_id"]).as_dict()

    async def _patch_webhook_message(self, request: web.Request, call: Call) -> Any:
        """Edit the original response (which also ends a deferred one's "thinking") or a followup."""
        interaction = self._by_token(request)
        message = self._webhook_message(interaction, request.match_info["message_id"])
        self._check_uploads(call.files, interaction.attachment_size_limit)
        was_loading = message.loading
        message.flags &= ~LOADING
        self._edit(message, call.json or {}, call.files)
        if not message.ephemeral:
            await self._dispatch_message("MESSAGE_CREATE" if was_loading else "MESSAGE_UPDATE", message)
        return message.as_dict()

    async def _delete_webhook_message(self, request: web.Request, call: Call) -> Any:
        interaction = self._by_token(request)
        await self._delete(self._webhook_message(interaction, request.match_info["message_id"]))
        return None

    async def _post_followup(self, request: web.Request, call: Call) -> Any:
        """A followup message: only after the interaction was acknowledged; the first one after a deferred
        "thinking" response completes that response instead of posting a new message, as Discord does."""
        interaction = self._by_token(request)
        _need(interaction.callback_type is not None, ApiError(404, 10015, "Unknown Webhook"))
        self._check_uploads(call.files, interaction.attachment_size_limit)
        body: dict[str, Any] = call.json or {}
        original = interaction.original
        if original is not None and original.loading:
            original.flags &= ~LOADING
            self._edit(original, body, call.files)
            if not original.ephemeral:
                await self._dispatch_message("MESSAGE_CREATE", original)
            return original.as_dict()
        body = {**body, "flags": int(body.get("flags") or 0) & EPHEMERAL}
        message = self._interaction_message(interaction, body, call.files)
        interaction.followups.append(message)
        if not message.ephemeral:
            await self._dispatch_message("MESSAGE_CREATE", message)
        return message.as_dict()

    # ----- the CDN --------------------------------------------------------------------------------------------------

    async def _handle_cdn(self, request: web.Request) -> web.Response:
        """Attachment bytes, for the URL in an attachment's payload (user uploads and the bot's files alike)."""
        attachment = self.cdn.get(int(request.match_info["attachment_id"]))
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        self.cdn_reads.append(attachment.id)
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})

    # ----- the gateway ---------------------------------------------------------------------------------------------

    async def _handle_gateway(self, request: web.Request) -> web.WebSocketResponse:
        """One gateway connection: HELLO, then IDENTIFY or RESUME, then heartbeats until either side closes."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.gateway_queries.append(dict(request.query))
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream") or request.query.get("encoding", "json") != "json":
            self.closed_with.append(4000)
            await ws.close(code=4000, message=b"Unsupported compression or encoding")
            return ws
        stream = _ZlibStream() if compress == "zlib-stream" else None
        hello = GatewaySession("", 0, ws=ws, stream=stream)  # a connection without a session yet
        await hello.send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None})
        session: GatewaySession | None = None
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            session = await self._gateway_op(hello, session, payload)
            if ws.closed:
                break
        if session is not None and session.ws is ws:  # the bot hung up (not `disconnect_gateway`, not a resume)
            session.ws = None
            if ws.close_code in (1000, 1001) and self._current is session:  # a clean close ends the session
                self._current = None
        return ws

    async def _gateway_op(
        self, connection: GatewaySession, session: GatewaySession | None, payload: dict[str, Any]
    ) -> GatewaySession | None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            self.heartbeats += 1
            await connection.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2 and session is None:
            return await self._identify(connection, data or {})
        elif op == 6 and session is None:
            return await self._resume(connection, data or {})
        elif op == 8 and session is not None:
            await self._member_chunk(session, data or {})
        elif op in (3, 4) and session is not None:
            pass  # presence and voice state updates: accepted, not modelled
        else:
            await self._close(connection, 4003 if session is None else 4005, "Not authenticated or already")
        return session

    async def _close(self, connection: GatewaySession, code: int, reason: str) -> None:
        self.closed_with.append(code)
        assert connection.ws is not None
        await connection.ws.close(code=code, message=reason.encode())

    async def _identify(self, connection: GatewaySession, data: dict[str, Any]) -> GatewaySession | None:
        """IDENTIFY: a good token and only the privileged intents the app has enabled, or the socket is closed
        (4004 Authentication failed, 4014 Disallowed intent(s)); then READY and one GUILD_CREATE per guild."""
        self.identifies.append(data)
        if data.get("token") != self.token:
            await self._close(connection, 4004, "Authentication failed.")
            return None
        intents = int(data.get("intents") or 0)
        allowed = (
            (MESSAGE_CONTENT if self.message_content_enabled else 0)
            | (GUILD_MEMBERS if self.members_enabled else 0)
            | (GUILD_PRESENCES if self.presences_enabled else 0)
        )
        if intents & (MESSAGE_CONTENT | GUILD_MEMBERS | GUILD_PRESENCES) & ~allowed:
            await self._close(connection, 4014, "Disallowed intent(s).")
            return None
        session = GatewaySession(f"session-{next(self._ids)}", intents, ws=connection.ws, stream=connection.stream)
        self._sessions[session.session_id] = session
        self._current = session
        await session.dispatch("READY", self._ready_payload(session))
        for guild in self.guilds.values():
            await session.dispatch("GUILD_CREATE", guild.as_dict())
        return session

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        return {
            "v": 10,
            "user": {**self.bot_user.as_dict(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.app_id), "flags": self._application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "shard": [0, 1],
        }

    async def _resume(self, connection: GatewaySession, data: dict[str, Any]) -> GatewaySession | None:
        """RESUME: replay the dispatches after `seq`, then RESUMED; an unknown session gets INVALID_SESSION
        (d=false), after which discord.py identifies afresh."""
        self.resumes.append(data)
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token or session is not self._current:
            await connection.send({"op": 9, "d": False, "s": None, "t": None})
            return None
        session.ws, session.stream = connection.ws, connection.stream
        seq = int(data.get("seq") or 0)
        for event in session.events:
            if event["s"] > seq:
                await session.send(event)
        await session.dispatch("RESUMED", {})
        return session

    async def _member_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.as_dict() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    def _session(self) -> GatewaySession:
        if self._current is None:
            raise AssertionError("no bot holds a gateway session (not started yet, or closed)")
        return self._current

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Drop the bot's connection the way Discord does (4000: unknown error, resumable)."""
        session = self._session()
        if session.ws is not None:
            self.closed_with.append(code)
            ws, session.ws = session.ws, None
            await ws.close(code=code, message=b"Unknown error")

    @property
    def connected(self) -> bool:
        return self._current is not None and self._current.ws is not None and not self._current.ws.closed

    async def until(self, condition: Callable[[], bool], what: str = "condition", within_s: float = 5.0) -> None:
        """Wait until `condition()` holds (a test's way to wait for the bot)."""
        deadline = time.monotonic() + within_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {within_s} s waiting for {what}")
            await asyncio.sleep(0.01)

    # ----- dispatching to the bot ------------------------------------------------------------------------------

    def _sees(self, session: GatewaySession, message: FakeMessage) -> bool:
        """Whether MESSAGE_* events of this message reach the bot: GUILD_MESSAGES in a server, DIRECT_MESSAGES
        in a DM, ephemeral messages never."""
        wanted = DIRECT_MESSAGES if message.guild_id is None else GUILD_MESSAGES
        return bool(session.intents & wanted) and not message.ephemeral

    async def _dispatch_for(self, message: FakeMessage, event: str, data: dict[str, Any]) -> None:
        session = self._current
        if session is not None and self._sees(session, message):
            await session.dispatch(event, data)

    async def _dispatch_message(self, event: str, message: FakeMessage) -> None:
        """MESSAGE_CREATE / MESSAGE_UPDATE, with the content fields emptied when the bot may not read them."""
        session = self._current
        if session is None or not self._sees(session, message):
            return
        data = message.as_dict()
        if message.guild_id is not None:
            member = self.guilds[message.guild_id].members.get(message.author.id)
            if member is not None:
                data["member"] = member.as_dict(with_user=False)
        if not self._may_read(session, message):
            data.update(content="", embeds=[], attachments=[], components=[])
        await session.dispatch(event, data)

    def _may_read(self, session: GatewaySession, message: FakeMessage) -> bool:
        """The Message Content rule: without the intent, a bot reads only its own messages, DMs and messages
        that mention it."""
        return bool(
            session.intents & MESSAGE_CONTENT
            or message.guild_id is None
            or message.author is self.bot_user
            or self.bot_user in message.mentions
        )

    # ----- playing users ---------------------------------------------------------------------------------------------

    def upload(
        self, channel: FakeChannel, filename: str, data: bytes, content_type: str = "image/png"
    ) -> FakeAttachment:
        """A file a user attached, served by the CDN."""
        return self._store_attachment(channel.id, filename, data, content_type)

    async def send_message(
        self,
        user: FakeUser,
        channel: FakeChannel,
        content: str = "",
        *,
        files: Mapping[str, bytes] | None = None,
        reply_to: FakeMessage | None = None,
    ) -> FakeMessage:
        """A user posts a message (mentions of users and the bot, written `<@id>`, are found in the content)."""
        body: dict[str, Any] = {"content": content}
        uploads = [
            UploadedFile(f"files[{n}]", name, data, _content_type(name))
            for n, (name, data) in enumerate((files or {}).items())
        ]
        message = self._new_message(channel, user, body, uploads, reply_to=reply_to, type=19 if reply_to else 0)
        await self._dispatch_message("MESSAGE_CREATE", message)
        return message

    def _interaction_base(self, kind: int, user: FakeUser, channel: FakeChannel) -> dict[str, Any]:
        """The fields every interaction has: who, where, the bot's permissions there, locales, the size limit."""
        payload: dict[str, Any] = {
            "id": "",
            "application_id": str(self.app_id),
            "type": kind,
            "token": "",
            "version": 1,
            "channel_id": str(channel.id),
            "channel": {**channel.as_dict(), "permissions": str(self.bot_permissions(channel))},
            "app_permissions": str(self.bot_permissions(channel)),
            "locale": user.locale,
            "entitlements": [],
            "attachment_size_limit": self._upload_limit(channel),
        }
        if channel.guild_id is None:
            payload.update(user=user.as_dict(), context=1, authorizing_integration_owners={"0": str(self.app_id)})
            return payload
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(user.id) or self.add_member(guild, user)
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": guild.locale, "features": []},
            guild_locale=guild.locale,
            member=member.as_dict(permissions=guild.permissions(user.id, channel)),
            context=0,
            authorizing_integration_owners={"0": str(guild.id)},
        )
        return payload

    async def _dispatch_interaction(
        self,
        kind: int,
        user: FakeUser,
        channel: FakeChannel,
        data: dict[str, Any],
        *,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        payload = self._interaction_base(kind, user, channel)
        interaction_id = next(self._ids)
        token = f"aW50ZXJhY3Rpb246{interaction_id}:{hashlib.sha1(str(interaction_id).encode()).hexdigest()}"
        payload.update(id=str(interaction_id), token=token, data=data)
        if message is not None:
            payload["message"] = message.as_dict()
        interaction = FakeInteraction(
            interaction_id,
            token,
            kind,
            payload,
            channel,
            user,
            int(payload["attachment_size_limit"]),
            self.ack_deadline_s,
            target_message=message,
        )
        self.interactions[interaction_id] = interaction
        session = self._session()
        await session.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _options(
        self,
        command: dict[str, Any],
        options: Mapping[str, str | int | float | bool],
        attachments: Mapping[str, FakeAttachment],
    ) -> list[dict[str, Any]]:
        """Interaction options, typed as the registered command declares them (plain Python types otherwise)."""
        declared = {o["name"]: o.get("type") for o in command.get("options", [])}
        given: list[dict[str, Any]] = []
        for name, value in options.items():
            kind = declared.get(name) or _OPTION_TYPES[type(value)]
            given.append({"name": name, "type": kind, "value": value})
        for name, attachment in attachments.items():
            given.append({"name": name, "type": _ATTACHMENT_OPTION, "value": str(attachment.id)})
        return given

    async def send_slash_command(
        self,
        user: FakeUser,
        channel: FakeChannel,
        name: str,
        options: Mapping[str, str | int | float | bool] | None = None,
        *,
        attachments: Mapping[str, tuple[str, bytes]] | None = None,
    ) -> FakeInteraction:
        """A user runs `/name` (registered by the bot) with these options; `attachments` maps an attachment
        option to (filename, bytes), uploaded to the CDN and listed in `data.resolved.attachments`."""
        command = self.find_command(name, channel.guild_id)
        uploaded = {
            option: self.upload(channel, filename, data, _content_type(filename))
            for option, (filename, data) in (attachments or {}).items()
        }
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": self._options(command, options or {}, uploaded),
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        if uploaded:
            data["resolved"] = {"attachments": {str(a.id): a.as_dict() for a in uploaded.values()}}
        return await self._dispatch_interaction(APPLICATION_COMMAND, user, channel, data)

    async def autocomplete(
        self, user: FakeUser, channel: FakeChannel, name: str, focused: str, options: Mapping[str, str | int | float]
    ) -> FakeInteraction:
        """A user types in option `focused` of `/name`: an autocomplete interaction (type 4)."""
        command = self.find_command(name, channel.guild_id)
        given = self._options(command, options, {})
        for option in given:
            option["focused"] = option["name"] == focused
        data = {"id": command["id"], "name": name, "type": 1, "options": given}
        return await self._dispatch_interaction(AUTOCOMPLETE, user, channel, data)

    async def message_context_menu(self, user: FakeUser, target: FakeMessage, name: str) -> FakeInteraction:
        """A user picks Apps → `name` on a message: a message command (type 2, data.type 3) with the message
        in `data.resolved.messages`."""
        channel = self.channels[target.channel_id]
        command = self.find_command(name, channel.guild_id, kind=3)
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): target.as_dict()}},
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        return await self._dispatch_interaction(APPLICATION_COMMAND, user, channel, data)

    def _component(self, message: FakeMessage, custom_id: str, component_type: int) -> None:
        found = [
            c
            for row in message.components
            for c in row.get("components", [])
            if c.get("custom_id") == custom_id and c.get("type") == component_type
        ]
        assert found, f"message {message.id} has no component {custom_id!r} of type {component_type}"
        assert not found[0].get("disabled"), f"component {custom_id!r} is disabled"

    async def click_button(self, message: FakeMessage, custom_id: str, user: FakeUser) -> FakeInteraction:
        """A user clicks a button of a message (type 3, component_type 2)."""
        self._component(message, custom_id, 2)
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._dispatch_interaction(
            MESSAGE_COMPONENT, user, self.channels[message.channel_id], data, message=message
        )

    async def select(
        self, message: FakeMessage, custom_id: str, values: Sequence[str], user: FakeUser
    ) -> FakeInteraction:
        """A user picks `values` in a string select of a message (type 3, component_type 3)."""
        self._component(message, custom_id, 3)
        data = {"custom_id": custom_id, "component_type": 3, "values": list(values)}
        return await self._dispatch_interaction(
            MESSAGE_COMPONENT, user, self.channels[message.channel_id], data, message=message
        )

    async def submit_modal(self, opened: FakeInteraction, values: Mapping[str, str], user: FakeUser) -> FakeInteraction:
        """A user fills in the modal the bot opened (callback type 9) and submits it (type 5): each text input's
        `custom_id` gets its value from `values` ("" when absent), in the modal's own rows / labels."""
        assert opened.callback_type == MODAL, f"interaction {opened.id} opened no modal"
        modal = opened.callback_data
        data = {"custom_id": modal["custom_id"], "components": _submitted(modal.get("components", []), values)}
        return await self._dispatch_interaction(MODAL_SUBMIT, user, opened.channel, data, message=opened.target_message)

    # ----- reading back ---------------------------------------------------------------------------------------------

    def calls_to(self, route: str, *, ok_only: bool = False) -> list[Call]:
        return [c for c in self.calls if c.route == route and (not ok_only or c.status < 300)]

    def waits_after_429(self, route: str) -> list[float]:
        """For each 429 `route` answered: how long the client waited before calling it again (what discord.py
        should make at least `retry_after`)."""
        calls = self.calls_to(route)
        return [later.at - call.at for call, later in itertools.pairwise(calls) if call.status == 429]

    def channel_messages(self, channel: FakeChannel, *, include_deleted: bool = False) -> list[FakeMessage]:
        return [m for m in self.messages.values() if m.channel_id == channel.id and (include_deleted or not m.deleted)]

    def bot_messages(self, channel: FakeChannel) -> list[FakeMessage]:
        return [m for m in self.channel_messages(channel) if m.author is self.bot_user]


def _submitted(components: Sequence[dict[str, Any]], values: Mapping[str, str]) -> list[dict[str, Any]]:
    """A modal's components as its submission carries them: action rows (1) and labels (18) kept, text inputs
    (4) reduced to custom_id and value."""
    submitted: list[dict[str, Any]] = []
    for component in components:
        if component.get("type") == 1:
            submitted.append({"type": 1, "components": _submitted(component.get("components", []), values)})
        elif component.get("type") == 18:
            inner = _submitted([component["component"]], values)
            submitted.append({"type": 18, "id": component.get("id"), "component": inner[0] if inner else None})
        elif component.get("type") == 4:
            custom_id = component["custom_id"]
            submitted.append({"type": 4, "custom_id": custom_id, "value": values.get(custom_id, "")})
    return submitted


def _json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with Discord's exact `Content-Type: application/json` (discord.py parses nothing else as JSON)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={**(headers or {}), "Content-Type": "application/json"}
    )


def _content_type(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower()
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "mp4": "video/mp4",
        "txt": "text/plain; charset=utf-8",
    }.get(suffix, "application/octet-stream")


@contextlib.contextmanager
def point_discord_py_at(api_url: str, gateway_url: str) -> Iterator[None]:
    """Make discord.py talk to another Discord (this fake) instead of discord.com, and put it back after.

    Sets the two process-wide class attributes the module docstring describes: `discord.http.Route.BASE` and
    `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`."""
    import discord.gateway
    import discord.http

    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


@contextlib.asynccontextmanager
async def fake_discord(**options: Any) -> AsyncIterator[FakeDiscord]:
    """A running fake with discord.py pointed at it."""
    fake = await FakeDiscord(**options).start()
    try:
        with point_discord_py_at(fake.api_url, fake.gateway_url):
            yield fake
    finally:
        await fake.stop()
