"""The fake Discord (tests/support/fakediscord.py) against the real discord.py client: login, the gateway,
application commands, interactions and their answers, and the Discord rules the fake models."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.support.fakediscord import (
    ATTACH_FILES,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    EPHEMERAL,
    MODAL,
    SEND_MESSAGES,
    TOKEN,
    UPDATE_MESSAGE,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
    fake_discord,
)

pytestmark = pytest.mark.timeout(30)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class PaintAgain(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"paint:again:(?P<job>[0-9]+)"):
    """A persistent button: its state lives in the custom_id, so any client (a restarted one too) can answer it."""

    def __init__(self, job: int) -> None:
        super().__init__(discord.ui.Button(label="Again", custom_id=f"paint:again:{job}"))
        self.job = job

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PaintAgain:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content=f"painting job {self.job} again")


class NamePainting(discord.ui.Modal, title="Name your painting"):
    title_input: discord.ui.TextInput[NamePainting] = discord.ui.TextInput(label="Title", custom_id="painting-title")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"named {self.title_input.value}", ephemeral=True)


class PaintBot(discord.Client):
    """A small bot on the real discord.py: slash commands, a message command, components, and what it saw."""

    def __init__(self, *, intents: discord.Intents | None = None, delay_s: float = 0.0) -> None:
        super().__init__(intents=intents or discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.delay_s = delay_s  # how long /slow and /later wait before answering
        self.errors: list[discord.HTTPException] = []
        self.seen: list[discord.Message] = []
        self.add_dynamic_items(PaintAgain)
        self._add_commands()

    async def on_message(self, message: discord.Message) -> None:
        if message.author != self.user:
            self.seen.append(message)

    def _add_commands(self) -> None:
        tree = self.tree

        @tree.command(name="paint", description="Paint a picture")
        async def paint(interaction: discord.Interaction, image: discord.Attachment, style: str = "oil") -> None:
            await interaction.response.defer(thinking=True)
            data = await image.read()
            painted = discord.File(io.BytesIO(data[::-1]), "painted.png")
            await interaction.edit_original_response(content=f"{style}: {image.filename}", attachments=[painted])
            extra = discord.File(io.BytesIO(b"palette"), "palette.txt")
            await interaction.followup.send("the palette", file=extra, ephemeral=True)

        @paint.autocomplete("style")
        async def styles(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=s, value=s) for s in ("oil", "ink", "watercolour") if current in s]

        @tree.command(name="hello", description="Say hello with a persistent button")
        async def hello(interaction: discord.Interaction) -> None:
            view = discord.ui.View(timeout=None)
            view.add_item(PaintAgain(42))
            await interaction.response.send_message("hello", view=view)

        @tree.command(name="perms", description="What the bot may do here")
        async def perms(interaction: discord.Interaction) -> None:
            can = interaction.app_permissions
            text = (
                f"{interaction.locale.value} {interaction.guild_locale and interaction.guild_locale.value} "
                f"send={can.send_messages} attach={can.attach_files} limit={interaction.filesize_limit}"
            )
            await interaction.response.send_message(text, ephemeral=True)

        @tree.command(name="slow", description="Answer after delay_s")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(self.delay_s)
            await self._record(interaction.response.send_message("too late?"))

        @tree.command(name="later", description="Defer, then follow up after delay_s")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await asyncio.sleep(self.delay_s)
            await self._record(interaction.followup.send("done"))

        @tree.command(name="big", description="Defer, then follow up with a 2 KiB file")
        async def big(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await self._record(interaction.followup.send(file=discord.File(io.BytesIO(b"x" * 2048), "big.bin")))

        @tree.command(name="name", description="Name a painting (in a modal)")
        async def name(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(NamePainting())

        @tree.context_menu(name="Paint this")
        async def paint_this(interaction: discord.Interaction, message: discord.Message) -> None:
            names = ",".join(a.filename for a in message.attachments)
            await interaction.response.send_message(f"painting {message.id} [{names}]")

    async def _record(self, call: Any) -> None:
        """Await a REST call; keep the HTTPException it raises."""
        try:
            await call
        except discord.HTTPException as exc:
            self.errors.append(exc)


@contextlib.asynccontextmanager
async def running(bot: PaintBot, *, sync: bool = True) -> AsyncIterator[PaintBot]:
    """The bot logged in and connected (on_ready seen), its commands synced; closed afterwards."""
    task = asyncio.create_task(bot.start(TOKEN))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await bot.close()
        await task  # raises what made start() fail
        raise AssertionError("the bot never became ready")
    try:
        if sync:
            await bot.tree.sync()
        yield bot
    finally:
        await bot.close()
        await task


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with fake_discord() as running_fake:
        yield running_fake


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.create_guild("Painters", locale="de")


@pytest.fixture
def channel(fake: FakeDiscord, guild: FakeGuild) -> FakeChannel:
    return fake.create_channel(guild, "studio")


@pytest.fixture
def alice(fake: FakeDiscord, guild: FakeGuild) -> FakeUser:
    user = fake.create_user("alice", locale="fr")
    fake.add_member(guild, user)
    return user


def text_channel(bot: PaintBot, channel: FakeChannel) -> discord.TextChannel:
    found = bot.get_channel(channel.id)
    assert isinstance(found, discord.TextChannel), found
    return found


async def test_connects_gets_ready_and_syncs_commands(
    fake: FakeDiscord, guild: FakeGuild, channel: FakeChannel
) -> None:
    async with running(PaintBot()) as bot:
        assert bot.user is not None and bot.user.id == fake.app_id
        assert bot.application_id == fake.app_id
        found = bot.get_guild(guild.id)
        assert found is not None and found.preferred_locale == discord.Locale.german
        assert text_channel(bot, channel).permissions_for(found.me).send_messages
        assert {c["name"] for c in fake.commands[None]} == {c.name for c in bot.tree.get_commands()}
        assert {c["name"]: c["type"] for c in fake.commands[None]}["Paint this"] == 3
        bot.tree.copy_global_to(guild=discord.Object(guild.id))
        synced = await bot.tree.sync(guild=discord.Object(guild.id))
        assert {c.name for c in synced} == {c["name"] for c in fake.commands[guild.id]}
        assert fake.heartbeats >= 1  # discord.py beats as soon as HELLO arrives
    assert fake.gateway_queries == [{"v": "10", "encoding": "json", "compress": "zlib-stream"}]
    [identify] = fake.identifies
    assert identify["intents"] == discord.Intents.default().value
    assert fake.calls_to("PUT /applications/{application_id}/commands")[0].status == 200


async def test_slash_command_with_attachment_defers_edits_and_follows_up_with_files(
    fake: FakeDiscord, channel: FakeChannel, alice: FakeUser
) -> None:
    async with running(PaintBot()):
        interaction = await fake.send_slash_command(
            alice, channel, "paint", {"style": "ink"}, attachments={"image": ("cat.png", PNG)}
        )
        await interaction.response()
        assert interaction.callback_type == DEFERRED_CHANNEL_MESSAGE
        await fake.until(lambda: len(interaction.followups) == 1, "the followup")
    original = interaction.original
    assert original is not None and not original.loading
    assert original.content == "ink: cat.png"
    assert original.files == {"painted.png": PNG[::-1]}  # the bot read the upload from the CDN
    assert interaction.acknowledged_at is not None and len(original.edits) == 1
    assert original.edits[0].at > interaction.acknowledged_at
    [followup] = interaction.followups
    assert followup.ephemeral and followup.flags & EPHEMERAL
    assert followup.files == {"palette.txt": b"palette"}
    assert len(fake.cdn_reads) == 1


async def test_autocomplete_and_message_context_menu(fake: FakeDiscord, channel: FakeChannel, alice: FakeUser) -> None:
    async with running(PaintBot()):
        typing = await fake.autocomplete(alice, channel, "paint", "style", {"style": "o"})
        await typing.response()
        assert [c["value"] for c in typing.choices] == ["oil", "watercolour"]
        posted = await fake.send_message(alice, channel, "look", files={"dog.png": PNG})
        menu = await fake.message_context_menu(alice, posted, "Paint this")
        await menu.response()
    assert menu.original is not None and menu.original.content == f"painting {posted.id} [dog.png]"


async def test_persistent_button_is_answered_by_a_restarted_client(
    fake: FakeDiscord, channel: FakeChannel, alice: FakeUser
) -> None:
    async with running(PaintBot()):
        hello = await fake.send_slash_command(alice, channel, "hello")
        await hello.response()
    assert hello.original is not None and hello.original.custom_ids() == ["paint:again:42"]
    assert not fake.connected  # the first client closed its session
    async with running(PaintBot(), sync=False):
        click = await fake.click_button(hello.original, "paint:again:42", alice)
        await click.response()
    assert click.callback_type == UPDATE_MESSAGE
    assert hello.original.content == "painting job 42 again"
    assert len(fake.identifies) == 2


class StylePicker(discord.ui.Select[discord.ui.View]):
    """A string select whose callback defers the update (type 6), then follows up."""

    def __init__(self) -> None:
        super().__init__(custom_id="style", options=[discord.SelectOption(label=s) for s in ("oil", "ink")])
        self.picked: list[str] = []

    async def callback(self, interaction: discord.Interaction) -> None:
        self.picked.extend(self.values)
        await interaction.response.defer()
        await interaction.followup.send(f"style set to {self.values[0]}")


async def test_select_deferred_update_then_followup(fake: FakeDiscord, channel: FakeChannel, alice: FakeUser) -> None:
    picker = StylePicker()
    async with running(PaintBot()) as bot:
        view = discord.ui.View()
        view.add_item(picker)
        await text_channel(bot, channel).send("pick a style", view=view)
        [message] = fake.bot_messages(channel)
        interaction = await fake.select(message, "style", ["ink"], alice)
        await interaction.response()
        await fake.until(lambda: len(interaction.followups) == 1, "the followup")
    assert picker.picked == ["ink"]
    assert interaction.callback_type == DEFERRED_UPDATE
    assert interaction.followups[0].content == "style set to ink"


async def test_channel_messages_replies_edits_deletes_typing_and_dms(
    fake: FakeDiscord, channel: FakeChannel, alice: FakeUser
) -> None:
    async with running(PaintBot()) as bot:
        asked = await fake.send_message(alice, channel, f"{fake.bot_user.mention} paint this", files={"a.png": PNG})
        await fake.until(lambda: len(bot.seen) == 1, "the bot to see the message")
        answer = await fake.send_message(alice, channel, f"{fake.bot_user.mention} thanks", reply_to=asked)
        await fake.until(lambda: len(bot.seen) == 2, "the bot to see the reply")
        assert bot.seen[1].reference is not None and bot.seen[1].reference.message_id == asked.id
        assert isinstance(bot.seen[1].reference.resolved, discord.Message) and answer.reply_to is asked
        async with text_channel(bot, channel).typing():
            reply = await bot.seen[0].reply("on it", file=discord.File(io.BytesIO(b"1234"), "result.png"))
        await reply.edit(content="done")
        await reply.edit(content="done!")
        fetched = await text_channel(bot, channel).fetch_message(reply.id)
        await fetched.delete()
        dm = await bot.create_dm(discord.Object(alice.id))
        await dm.send("your painting is ready")
    sent = fake.messages[reply.id]
    assert sent.reply_to is asked and sent.as_dict()["message_reference"]["message_id"] == str(asked.id)
    assert sent.files == {"result.png": b"1234"}
    assert [e.changes["content"] for e in sent.edits] == ["done", "done!"]
    assert sent.edits[0].at <= sent.edits[1].at and sent.deleted
    assert fake.typing and fake.typing[0][0] == channel.id
    [dm_message] = fake.bot_messages(fake.dm_channel(alice))
    assert dm_message.content == "your painting is ready"


async def test_callback_after_the_ack_deadline_is_unknown_interaction(
    fake: FakeDiscord, channel: FakeChannel, alice: FakeUser
) -> None:
    fake.ack_deadline_s = 0.2
    async with running(PaintBot(delay_s=0.4)) as bot:
        interaction = await fake.send_slash_command(alice, channel, "slow")
        await interaction.response()
        await fake.until(lambda: bool(bot.errors), "the bot's error")
    assert interaction.failure is not None and interaction.callback_type is None
    [error] = bot.errors
    assert isinstance(error, discord.NotFound) and error.code == 10062


async def test_followup_with_an_expired_token_is_invalid_webhook_token(
    fake: FakeDiscord, channel: FakeChannel, alice: FakeUser
) -> None:
    fake.token_ttl_s = 0.3
    async with running(PaintBot(delay_s=0.5)) as bot:
        interaction = await fake.send_slash_command(alice, channel, "later")
        await interaction.response()
        await fake.until(lambda: bool(bot.errors), "the bot's error")
    [error] = bot.errors
    assert error.status == 401 and error.code == 50027
    assert interaction.original is not None and interaction.original.loading  # never completed


async def test_uploads_over_the_limit_are_refused_with_413(fake: FakeDiscord, alice: FakeUser) -> None:
    small = fake.create_guild("Small", attachment_size_limit=1024)
    channel = fake.create_channel(small, "tiny")
    fake.add_member(small, alice)
    async with running(PaintBot()) as bot:
        perms = await fake.send_slash_command(alice, channel, "perms")
        big = await fake.send_slash_command(alice, channel, "big")
        await fake.until(lambda: bool(bot.errors), "the bot's error")
        with pytest.raises(discord.HTTPException) as refused:
            await text_channel(bot, channel).send(file=discord.File(io.BytesIO(b"y" * 1025), "big.bin"))
        await perms.response()
    assert perms.original is not None and perms.original.content.endswith("limit=1024")
    assert big.payload["attachment_size_limit"] == 1024
    assert [(e.status, e.code) for e in bot.errors] == [(413, 40005)]
    assert (refused.value.status, refused.value.code) == (413, 40005)


async def test_429_is_retried_after_retry_after(fake: FakeDiscord, channel: FakeChannel) -> None:
    route = "POST /channels/{channel_id}/messages"
    fake.fail_next(route, times=2, retry_after=0.25)
    async with running(PaintBot()) as bot:
        await text_channel(bot, channel).send("eventually")
    assert [c.status for c in fake.calls_to(route)] == [429, 429, 200]
    assert all(waited >= 0.25 for waited in fake.waits_after_429(route))
    assert [m.content for m in fake.bot_messages(channel)] == ["eventually"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.api_url}/users/@me", headers={"Authorization": f"Bot {TOKEN}"}) as answer,
    ):
        assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
        assert int(answer.headers["X-RateLimit-Remaining"]) > 0 and float(answer.headers["X-RateLimit-Reset-After"]) > 0
        assert answer.headers["X-RateLimit-Limit"] and answer.headers["X-RateLimit-Bucket"]


async def test_missing_permissions(fake: FakeDiscord, guild: FakeGuild, alice: FakeUser) -> None:
    no_files = fake.create_channel(guild, "no-files", bot_deny=ATTACH_FILES)
    read_only = fake.create_channel(guild, "read-only", bot_deny=SEND_MESSAGES)
    async with running(PaintBot()) as bot:
        await text_channel(bot, no_files).send("text is fine")
        with pytest.raises(discord.Forbidden) as no_attach:
            await text_channel(bot, no_files).send(file=discord.File(io.BytesIO(b"z"), "z.png"))
        with pytest.raises(discord.Forbidden) as no_send:
            await text_channel(bot, read_only).send("hello?")
        perms = await fake.send_slash_command(alice, read_only, "perms")  # interactions need no Send Messages
        await perms.response()
    assert no_attach.value.code == 50013 and no_send.value.code == 50013
    assert perms.original is not None and perms.original.ephemeral
    assert perms.original.content == "fr de send=False attach=True limit=10485760"
    assert int(perms.payload["app_permissions"]) & SEND_MESSAGES == 0


async def test_privileged_message_content_intent_is_refused_unless_enabled(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running(PaintBot(intents=intents), sync=False):
            pass
    assert fake.closed_with == [4014]


async def test_without_message_content_only_mentions_and_dms_carry_content(
    fake: FakeDiscord, channel: FakeChannel, alice: FakeUser
) -> None:
    async with running(PaintBot()) as bot:
        await fake.send_message(alice, channel, "just chatting", files={"x.png": PNG})
        await fake.send_message(alice, channel, f"{fake.bot_user.mention} paint", files={"y.png": PNG})
        await fake.send_message(alice, fake.dm_channel(alice), "in private", files={"z.png": PNG})
        await fake.until(lambda: len(bot.seen) == 3, "three messages")
    assert [(m.content, [a.filename for a in m.attachments]) for m in bot.seen] == [
        ("", []),
        (f"{fake.bot_user.mention} paint", ["y.png"]),
        ("in private", ["z.png"]),
    ]


async def test_with_message_content_enabled_the_bot_reads_everything() -> None:
    async with fake_discord(message_content_enabled=True) as fake:
        guild = fake.create_guild()
        channel = fake.create_channel(guild)
        intents = discord.Intents.default()
        intents.message_content = True
        async with running(PaintBot(intents=intents), sync=False) as bot:
            await fake.send_message(fake.owner, channel, "just chatting")
            await fake.until(lambda: len(bot.seen) == 1, "the message")
        assert bot.seen[0].content == "just chatting"


async def test_resume_replays_what_the_bot_missed(fake: FakeDiscord, channel: FakeChannel, alice: FakeUser) -> None:
    async with running(PaintBot()) as bot:
        await fake.disconnect_gateway()
        await fake.send_message(alice, fake.dm_channel(alice), "while you were away")
        await fake.until(lambda: len(bot.seen) == 1, "the replayed message")
        hello = await fake.send_slash_command(alice, channel, "hello")
        await hello.response()
    assert bot.seen[0].content == "while you were away"
    assert len(fake.resumes) == 1 and len(fake.identifies) == 1


async def test_modal_opened_and_submitted(fake: FakeDiscord, channel: FakeChannel, alice: FakeUser) -> None:
    async with running(PaintBot()):
        opened = await fake.send_slash_command(alice, channel, "name")
        await opened.response()
        assert opened.callback_type == MODAL and opened.callback_data["title"] == "Name your painting"
        submitted = await fake.submit_modal(opened, {"painting-title": "Sunset"}, alice)
        await submitted.response()
    assert submitted.original is not None and submitted.original.ephemeral
    assert submitted.original.content == "named Sunset"


async def test_slash_command_in_a_dm_and_an_unanswered_interaction(fake: FakeDiscord, alice: FakeUser) -> None:
    dm = fake.dm_channel(alice)
    async with running(PaintBot()):
        perms = await fake.send_slash_command(alice, dm, "perms")
        await perms.response()
        fake.ack_deadline_s = 0.1
        ignored = await fake.send_slash_command(alice, dm, "paint", {"style": "oil"})  # no image: the bot errs out
        await asyncio.sleep(0.2)
    assert "user" in perms.payload and "member" not in perms.payload and perms.payload["context"] == 1
    assert perms.original is not None and perms.original.content.startswith("fr None send=True attach=True")
    assert not perms.failed and ignored.failed


async def test_a_wrong_token_fails_login(fake: FakeDiscord) -> None:
    bot = PaintBot()
    with pytest.raises(discord.LoginFailure):
        await bot.start("not-the-token")
    await bot.close()
    assert fake.calls_to("GET /users/@me")[0].status == 401
