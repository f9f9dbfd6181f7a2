"""Asking for a painting with messages: Apps ▸ Stylize on a message, pictures in DMs, mentions of the bot in a
server (on a picture, or in a reply to one); what the bot can't post in a channel goes on in a DM."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jobs.models import JobState
from tests.support.bot import workers
from tests.support.discord_bot import cancel_job_id, discord_settings, job_state, make_world, running_discord_bot
from tests.support.fakediscord import (
    ATTACH_FILES,
    SEND_MESSAGES,
    FakeChannel,
    FakeDiscord,
    FakeMessage,
    Overwrite,
    fake_discord,
)
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)

PHOTO = picture((10, 200, 10), fmt="PNG")
PAINTING = picture((200, 30, 160))


def statuses(fake: FakeDiscord, channel: FakeChannel) -> list[FakeMessage]:
    """The bot's status messages in a channel (those with Cancel)."""
    return [m for m in fake.bot_messages(channel) if any(c.startswith("sb:cancel:") for c in m.custom_ids())]


async def status_in(fake: FakeDiscord, channel: FakeChannel, count: int = 1) -> FakeMessage:
    await fake.until(lambda: len(statuses(fake, channel)) >= count, "a status message", within_s=10)
    return statuses(fake, channel)[count - 1]


async def replies_to(fake: FakeDiscord, message: FakeMessage, text: str) -> FakeMessage:
    """The bot's reply to `message` that contains `text` (waited for)."""
    channel = fake.channels[message.channel_id]

    def found() -> list[FakeMessage]:
        return [m for m in fake.bot_messages(channel) if m.reply_to is message and text in m.content]

    await fake.until(lambda: bool(found()), f"a reply with {text!r}")
    return found()[0]


async def test_stylize_on_a_message_with_two_pictures_paints_the_first_in_the_seconds_style(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        settings = discord_settings(tmp_path, fake)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                world = make_world(fake)
                post = await fake.send_message(
                    world.bob, world.channel, "", files={"photo.png": PHOTO, "painting.jpg": PAINTING}
                )
                interaction = await fake.message_context_menu(world.alice, post, "Stylize")
                status = await status_in(fake, world.channel)
                assert status is interaction.original and not status.ephemeral and not interaction.failed
                job = await client.svc.jobs.status(cancel_job_id(status))
                assert job is not None and job.user_id == await client.svc.stored(world.alice.id)
                assert job.style_name == "" and job.status_message_id == status.id
                await job_state(client, job.id, {JobState.DONE, JobState.DELIVERED})


async def test_stylize_on_one_picture_offers_the_styles_privately(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            post = await fake.send_message(world.bob, world.channel, "", files={"photo.png": PHOTO})
            interaction = await fake.message_context_menu(world.alice, post, "Stylize")
            await fake.until(
                lambda: interaction.original is not None and bool(interaction.original.custom_ids()), "menu"
            )
            menu = interaction.original
            assert menu is not None and menu.ephemeral
            picked = await (await fake.select(menu, menu.custom_ids()[0], ["mosaic"], world.alice)).response()
            status = await status_in(fake, world.channel)
            assert status in picked.followups and not status.ephemeral
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.style_name == "mosaic" and job.reply_to_message_id == post.id


async def test_stylize_on_a_message_without_pictures_is_an_error_only_the_user_sees(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)):
            post = await fake.send_message(world.bob, world.channel, "just words")
            answer = await (await fake.message_context_menu(world.alice, post, "Stylize")).response()
            assert answer.original is not None and answer.original.ephemeral
            assert "no picture" in answer.original.content


async def test_a_dm_with_two_pictures_paints(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            dm = world.dm(world.alice)
            sent = await fake.send_message(world.alice, dm, "", files={"photo.png": PHOTO, "painting.jpg": PAINTING})
            status = await status_in(fake, dm)
            assert status.reply_to is sent and "your style picture" in status.content
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.chat_type == "private" and job.message_id == sent.id
            assert job.reply_to_message_id == sent.id and job.chat_id == await client.svc.stored(dm.id)


async def test_a_dm_picture_waits_for_the_next_one_as_its_style(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            dm = world.dm(world.alice)
            first = await fake.send_message(world.alice, dm, "", files={"photo.png": PHOTO})
            ask = await replies_to(fake, first, "Got your photo!")
            assert ask.custom_ids(), "the styles are offered as a menu"
            second = await fake.send_message(world.alice, dm, "", files={"painting.jpg": PAINTING})
            status = await status_in(fake, dm)
            assert status.reply_to is second
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.style_name == "" and len(job.style_keys) == 1


async def test_a_dm_picture_with_a_style_name_paints_and_a_name_alone_paints_the_waiting_photo(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            dm = world.dm(world.alice)
            await fake.send_message(world.alice, dm, "Starry Night", files={"photo.png": PHOTO})
            status = await status_in(fake, dm)
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.style_name == "starry_night"
            again = await fake.send_message(world.alice, dm, "the scream")
            second = await status_in(fake, dm, 2)
            assert second.reply_to is again
            job2 = await client.svc.jobs.status(cancel_job_id(second))
            assert job2 is not None and job2.style_name == "the_scream" and job2.content_key == job.content_key


async def test_a_mention_with_a_style_name_on_a_picture_paints(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            sent = await fake.send_message(
                world.alice, world.channel, f"{fake.bot_user.mention} mosaic", files={"photo.png": PHOTO}
            )
            status = await status_in(fake, world.channel)
            assert status.reply_to is sent and "mosaic" in status.content
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.chat_type == "guild" and job.language == ""


async def test_a_mention_in_a_reply_to_a_picture_paints_that_picture(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            photo = await fake.send_message(world.bob, world.channel, "", files={"photo.png": PHOTO})
            sent = await fake.send_message(
                world.alice, world.channel, f"{fake.bot_user.mention} the scream", reply_to=photo
            )
            status = await status_in(fake, world.channel)
            assert status.reply_to is sent
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.style_name == "the_scream"
            assert job.user_id == await client.svc.stored(world.alice.id)
            assert photo.attachments[0].id in fake.cdn_reads


async def test_a_mention_without_a_picture_or_name_gets_a_hint(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)):
            sent = await fake.send_message(world.alice, world.channel, f"hello {fake.bot_user.mention}")
            hint = await replies_to(fake, sent, "Mention me")
            assert "Stylize" in hint.content


async def test_a_server_message_without_a_mention_is_left_alone(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)):
            await fake.send_message(world.alice, world.channel, "mosaic", files={"photo.png": PHOTO})
            await fake.send_message(world.alice, world.channel, "hello")
            await asyncio.sleep(1.0)
            assert not fake.bot_messages(world.channel) and not fake.cdn_reads


async def test_without_send_messages_a_mention_is_answered_in_a_dm(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            muted = fake.create_channel(world.guild, "quiet", bot_deny=SEND_MESSAGES | ATTACH_FILES)
            await fake.send_message(world.alice, muted, f"{fake.bot_user.mention} mosaic", files={"photo.png": PHOTO})
            dm = world.dm(world.alice)
            status = await status_in(fake, dm)
            [notice] = [m for m in fake.bot_messages(dm) if "direct messages" in m.content]
            assert f"<#{muted.id}>" in notice.content and notice.sent_at < status.sent_at
            assert not fake.bot_messages(muted)
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.chat_id == await client.svc.stored(dm.id) and job.chat_type == "private"
            assert job.status_message_id == status.id == job.reply_to_message_id


async def test_a_refused_channel_post_moves_to_a_dm(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake)) as client:
            await fake.until(lambda: bool(client.get_channel(world.channel.id)), "the channel in the cache")
            world.channel.overwrites.append(Overwrite(fake.app_id, 1, 0, SEND_MESSAGES))  # unknown to the bot's cache
            await fake.send_message(
                world.alice, world.channel, f"{fake.bot_user.mention} mosaic", files={"photo.png": PHOTO}
            )
            status = await status_in(fake, world.dm(world.alice))
            job = await client.svc.jobs.status(cancel_job_id(status))
            assert job is not None and job.chat_type == "private"


async def test_the_instant_sketch_replies_to_the_request_before_the_painting(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake, sketch=True)):
            dm = world.dm(world.alice)
            sent = await fake.send_message(world.alice, dm, "mosaic", files={"photo.png": PHOTO})
            sketch = await replies_to(fake, sent, "quick sketch")
            assert "sketch.jpg" in sketch.files
            await status_in(fake, dm)


async def test_sketch_only_answers_with_the_sketch_alone(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        world = make_world(fake)
        async with running_discord_bot(discord_settings(tmp_path, fake, sketch=True)) as client:
            await client.svc.preferences.update(await client.svc.stored(world.alice.id), sketch_only=True)
            interaction = await fake.send_slash_command(
                world.alice, world.channel, "style", {"preset": "mosaic"}, attachments={"photo": ("p.png", PHOTO)}
            )
            await fake.until(lambda: interaction.original is not None and bool(interaction.original.files), "a sketch")
            assert interaction.original is not None and "Your sketch" in interaction.original.content
            assert "sketch.jpg" in interaction.original.files and not interaction.original.ephemeral
            assert not statuses(fake, world.channel)
            assert await client.svc.jobs.count_today(await client.svc.stored(world.alice.id)) == 1
