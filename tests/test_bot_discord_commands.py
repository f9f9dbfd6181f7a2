"""The Discord commands besides /style, end to end (the real bot against the fake Discord): /presets, /savestyle and
/deletestyle (whoever added a style, or Manage Server), /settings, /history with Redo (painted by a real worker),
/me, /cancel, /privacy and /forget; what only the user should see is ephemeral, and forged custom_ids are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.discord.app import StyleBot
from bot.discord.identity import chat_id
from jobs import keys
from jobs.models import JobParams, JobState, NewJob
from tests.support.bot import workers
from tests.support.discord_bot import World, bot_message, discord_settings, make_world, running_discord_bot
from tests.support.fakediscord import (
    ATTACH_FILES,
    SEND_MESSAGES,
    FakeChannel,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    fake_discord,
)
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)


async def answer(fake: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    """The bot's answer to a command: its response, once a deferred one is complete."""
    await interaction.response()
    assert not interaction.failed, interaction.failure

    def done() -> bool:
        return interaction.original is not None and not interaction.original.loading

    await fake.until(done, "the answer", within_s=10)
    assert interaction.original is not None
    return interaction.original


async def followup(fake: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    """The bot's first follow-up to an interaction (e.g. to a button that updated its message first)."""
    await interaction.response()
    await fake.until(lambda: bool(interaction.followups), "a follow-up", within_s=10)
    return interaction.followups[0]


async def command(
    fake: FakeDiscord, user: FakeUser, channel: FakeChannel, name: str, options: dict[str, Any] | None = None, **kw: Any
) -> FakeMessage:
    return await answer(fake, await fake.send_slash_command(user, channel, name, options, **kw))


async def tap(fake: FakeDiscord, message: FakeMessage, custom_id: str, user: FakeUser) -> FakeInteraction:
    interaction = await (await fake.click_button(message, custom_id, user)).response()
    assert not interaction.failed, interaction.failure
    return interaction


def refusal(interaction: FakeInteraction) -> str:
    """What a refused tap said (an ephemeral response, the tapped message unchanged)."""
    assert interaction.original is not None and interaction.original.ephemeral
    return interaction.original.content


def options(message: FakeMessage, custom_id: str) -> list[dict[str, Any]]:
    [select] = [c for row in message.components for c in row["components"] if c.get("custom_id") == custom_id]
    found: list[dict[str, Any]] = select["options"]
    return found


async def stored(client: StyleBot, user: FakeUser, channel: FakeChannel) -> tuple[int, int]:
    """The stored (user, channel) ids."""
    return await client.svc.stored(user.id), await chat_id(client.svc, channel.id)


async def enqueue_job(client: StyleBot, user: FakeUser, channel: FakeChannel, message_id: int, style: str) -> int:
    """A job as /style would make it (its pictures stored), straight into the queue."""
    svc = client.svc
    user_id, chat = await stored(client, user, channel)
    content, style_key = keys.upload_key(user_id, f"c{message_id}", ".png"), keys.upload_key(user_id, style, ".png")
    await asyncio.to_thread(svc.storage.put, content, picture((10, 200, 90), fmt="PNG"))
    await asyncio.to_thread(svc.storage.put, style_key, picture((200, 20, 90), fmt="PNG"))
    job = NewJob(
        chat_id=chat, user_id=user_id, message_id=message_id, content_key=content, style_keys=(style_key,),
        params=JobParams(max_side=64, iterations=10), style_name=style, user_name=user.username,
        chat_type="guild" if channel.guild_id is not None else "private", reply_to_message_id=message_id,
        language=user.locale,
    )
    return (await svc.jobs.enqueue(job)).job_id


async def finished(client: StyleBot, job_id: int, within_s: float = 20.0) -> None:
    """Wait until the job is no longer queued or running."""
    for _ in range(int(within_s / 0.05)):
        status = await client.svc.jobs.status(job_id)
        if status is not None and status.state not in (JobState.QUEUED, JobState.RUNNING):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish within {within_s} s")


# ----- /presets, /savestyle, /deletestyle ---------------------------------------------------------------------


async def test_presets_lists_the_styles_with_their_thumbnails(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        listing = await command(fake, world.alice, world.channel, "presets")
        assert not listing.ephemeral
        for name in ("starry_night", "mosaic", "the_scream"):
            assert name.replace("_", "\\_") in listing.content
            assert listing.files[f"{name}.jpg"].startswith(b"\xff\xd8"), "a JPEG thumbnail"


async def save(world: World, user: FakeUser, name: str, data: bytes | None = None, file: str = "p.png") -> str:
    message = await command(
        world.fake, user, world.channel, "savestyle", {"name": name},
        attachments={"picture": (file, data if data is not None else picture((250, 200, 10), fmt="PNG"))},
    )
    assert message.ephemeral
    return message.content


async def test_savestyle_and_deletestyle_follow_the_manage_server_rule(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(
        discord_settings(tmp_path, fake, max_presets_per_chat=2)
    ) as client:
        world = make_world(fake)
        assert "Saved the style “sunset” for this server" in await save(world, world.alice, "Sunset")
        listing = await command(fake, world.bob, world.channel, "presets")
        assert "sunset (this chat)" in listing.content and "sunset.jpg" in listing.files

        assert "Only whoever added the style “sunset”" in await save(world, world.bob, "sunset")
        assert "Saved the style" in await save(world, world.alice, "sunset"), "its author may replace it"
        assert "Saved the style" in await save(world, world.owner, "sunset"), "so may Manage Server"
        assert "one of the bot's own styles" in await save(world, world.alice, "mosaic")
        assert "A style name uses letters" in await save(world, world.alice, "two words!")
        assert "couldn't read that picture" in await save(world, world.alice, "broken", b"not a picture", "x.png")
        assert "Saved the style" in await save(world, world.bob, "dusk")
        assert "2" in await save(world, world.bob, "night"), "the server's limit"

        typed = await fake.autocomplete(world.bob, world.channel, "deletestyle", "name", {"name": "s"})
        assert [c["value"] for c in (await typed.response()).choices] == ["dusk", "sunset"]
        refused = await command(fake, world.bob, world.channel, "deletestyle", {"name": "sunset"})
        assert refused.ephemeral and "Only whoever added the style “sunset”" in refused.content
        own = await command(fake, world.bob, world.channel, "deletestyle", {"name": "dusk"})
        assert "Deleted the style “dusk”" in own.content
        deleted = await command(fake, world.owner, world.channel, "deletestyle", {"name": "sunset"})
        assert deleted.ephemeral and "Deleted the style “sunset”" in deleted.content
        gone = await command(fake, world.owner, world.channel, "deletestyle", {"name": "mosaic"})
        assert "no style of its own called “mosaic”" in gone.content
        server = await chat_id(client.svc, world.guild.id)
        assert await client.svc.presets.count(server) == 0


# ----- /settings -----------------------------------------------------------------------------------------------


async def test_settings_change_with_selects_and_refuse_forged_picks(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        shown = await command(fake, world.alice, world.channel, "settings")
        assert shown.ephemeral and "Strength: 1×" in shown.content
        alice = await client.svc.stored(world.alice.id)
        strength = f"sb:set:{alice}:strength"
        assert [o["value"] for o in options(shown, strength) if o.get("default")] == ["1.0"]

        picked = await (await fake.select(shown, strength, ["2.0"], world.alice)).response()
        assert not picked.failed
        assert "Strength: 2×" in shown.content
        assert [o["value"] for o in options(shown, strength) if o.get("default")] == ["2.0"]
        assert (await client.svc.preferences.get(alice)).strength == 2.0

        await (await fake.select(shown, f"sb:set:{alice}:strokes", ["broad"], world.alice)).response()
        assert "Strokes: broad" in shown.content
        toggled = await tap(fake, shown, f"sb:set:{alice}:colors:1", world.alice)
        assert toggled.original is None and "Keep colours: yes" in shown.content
        assert f"sb:set:{alice}:colors:0" in shown.custom_ids()

        forged = await (await fake.select(shown, strength, ["3.0"], world.alice)).response()
        assert "out of date" in refusal(forged)
        huge = await (await fake.select(shown, f"sb:set:{alice}:size", ["4096"], world.alice)).response()
        assert "out of date" in refusal(huge)
        someone_else = await (await fake.select(shown, strength, ["8.0"], world.bob)).response()
        assert "someone else's settings" in refusal(someone_else)
        after = await client.svc.preferences.get(alice)
        assert (after.strength, after.max_side, after.style_scale, after.preserve_colors) == (2.0, None, 2.0, True)


# ----- /history and Redo, /me, /cancel ------------------------------------------------------------------------


def status_messages(fake: FakeDiscord, channel: FakeChannel) -> list[FakeMessage]:
    """The bot's messages in the channel with a Cancel button."""
    return [m for m in fake.bot_messages(channel) if any(c.startswith("sb:cancel:") for c in m.custom_ids())]


async def test_history_lists_the_users_pictures_and_redo_paints_again(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        settings = discord_settings(tmp_path, fake)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                world = make_world(fake)
                empty = await command(fake, world.alice, world.channel, "history")
                assert empty.ephemeral and "haven't asked me for any pictures" in empty.content
                first = await enqueue_job(client, world.alice, world.channel, 111, "mosaic")
                await finished(client, first)
                listed = await command(fake, world.alice, world.channel, "history")
                assert listed.ephemeral and f"#{first} mosaic" in listed.content
                assert listed.custom_ids() == [f"sb:redo:{first}"]

                refused = await tap(fake, listed, f"sb:redo:{first}", world.bob)
                assert "Only its owner" in refusal(refused)
                button = listed.components[0]["components"][0]
                button["custom_id"] = "sb:redo:999999"  # a forged button
                forged = await tap(fake, listed, "sb:redo:999999", world.alice)
                assert "don't have that picture" in refusal(forged)
                button["custom_id"] = f"sb:redo:{first}"

                redone = await tap(fake, listed, f"sb:redo:{first}", world.alice)
                assert "On it!" in refusal(redone)
                await fake.until(lambda: bool(status_messages(fake, world.channel)), "a status message", within_s=10)
                [status] = status_messages(fake, world.channel)
                assert not status.ephemeral and "mosaic" in status.content and "photo.jpg" in status.files
                second = int(status.custom_ids()[0].rsplit(":", 1)[1])
                assert second != first
                job = await client.svc.jobs.status(second)
                alice, _ = await stored(client, world.alice, world.channel)
                assert job is not None and job.status_message_id == status.id and job.user_id == alice
                await finished(client, second)
                job = await client.svc.jobs.status(second)
                assert job is not None and job.result_key is not None, "painted by the worker"


async def test_me_and_cancel(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        nothing = await command(fake, world.alice, world.channel, "cancel")
        assert nothing.ephemeral and "There is nothing to cancel." in nothing.content
        job = await enqueue_job(client, world.alice, world.channel, 222, "mosaic")

        me = await command(fake, world.alice, world.channel, "me")
        assert me.ephemeral
        assert f"#{job} mosaic · position 1 in the queue" in me.content
        assert f"Today: 1 of your {client.svc.settings.max_jobs_per_day} pictures a day" in me.content
        assert "Stored: " in me.content and "KB" in me.content
        bob = await command(fake, world.bob, world.channel, "me")
        assert "Nothing in the queue." in bob.content

        assert "There is nothing to cancel." in (await command(fake, world.bob, world.channel, "cancel")).content
        cancelled = await command(fake, world.alice, world.channel, "cancel")
        assert cancelled.ephemeral and "Cancelled 1 picture." in cancelled.content
        status = await client.svc.jobs.status(job)
        assert status is not None and status.state not in (JobState.QUEUED, JobState.RUNNING)


# ----- /privacy, /forget ----------------------------------------------------------------------------------------


async def test_privacy_speaks_of_discord(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake, retention_days=7.0)):
        world = make_world(fake)
        text = await command(fake, world.alice, world.channel, "privacy")
        assert text.ephemeral and text.content.startswith("🔒 **Privacy**")
        for words in ("7 days", "third parties", "/forget", "Discord display name"):
            assert words in text.content, words
        assert "Telegram" not in text.content


async def test_privacy_sends_the_operators_file(tmp_path: Path) -> None:
    policy = tmp_path / "privacy.txt"
    policy.write_text("Our policy: see https://example.com/privacy\n" + "x" * 2500, encoding="utf-8")
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake, privacy_file=policy)):
        world = make_world(fake)
        interaction = await fake.send_slash_command(world.alice, world.channel, "privacy")
        first = await answer(fake, interaction)
        rest = await followup(fake, interaction)
        assert first.ephemeral and rest.ephemeral
        assert first.content == "Our policy: see https://example.com/privacy" and rest.content == "x" * 2000


async def test_forget_asks_only_its_user_then_deletes_everything(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        dm = world.dm(world.alice)
        saved = await command(fake, world.alice, dm, "savestyle", {"name": "mine"},
                              attachments={"picture": ("p.png", picture((1, 2, 3), fmt="PNG"))})
        assert "Saved the style “mine” for you" in saved.content
        await enqueue_job(client, world.alice, world.channel, 333, "mosaic")
        alice = await client.svc.stored(world.alice.id)

        asked = await command(fake, world.alice, world.channel, "forget")
        assert asked.ephemeral and "This can't be undone" in asked.content
        assert asked.custom_ids() == [f"sb:forget:{alice}:yes", f"sb:forget:{alice}:no"]
        refused = await tap(fake, asked, f"sb:forget:{alice}:yes", world.bob)
        assert "Only the person who sent /forget" in refusal(refused)
        no = await tap(fake, asked, f"sb:forget:{alice}:no", world.alice)
        assert no.original is None and asked.content == "OK, nothing was deleted." and not asked.components
        assert len(await client.svc.jobs.history(alice)) == 1

        asked = await command(fake, world.alice, world.channel, "forget")
        yes = await fake.click_button(asked, f"sb:forget:{alice}:yes", world.alice)
        done = await followup(fake, yes)
        assert done.ephemeral
        assert done.content == (
            "Done: I deleted your pictures, 1 picture from your history. I also deleted 1 saved style."
        )
        assert await client.svc.jobs.history(alice) == []
        assert await client.svc.presets.count(await chat_id(client.svc, dm.id)) == 0


async def test_redo_where_the_bot_may_not_post_goes_on_in_a_dm(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        muted = fake.create_channel(world.guild, "muted", bot_deny=SEND_MESSAGES | ATTACH_FILES)
        job = await enqueue_job(client, world.alice, muted, 444, "mosaic")
        await client.svc.jobs.cancel(job)
        await finished(client, job)
        listed = await command(fake, world.alice, muted, "history")
        redone = await tap(fake, listed, f"sb:redo:{job}", world.alice)
        said = await answer(fake, redone)
        assert said.ephemeral and "On it" in said.content
        dm = world.dm(world.alice)
        notice = await bot_message(fake, dm, lambda m: "direct messages" in m.content)
        assert f"<#{muted.id}>" in notice.content
        status = await bot_message(fake, dm, lambda m: any(c.startswith("sb:cancel:") for c in m.custom_ids()))
        assert not fake.bot_messages(muted) or all(m.ephemeral for m in fake.bot_messages(muted))
        history = await client.svc.jobs.history(await client.svc.stored(world.alice.id))
        assert [j.id for j in history][-1] == job and len(history) == 2
        assert history[0].chat_id == await chat_id(client.svc, dm.id) and history[0].status_message_id == status.id
