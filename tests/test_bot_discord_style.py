"""/style on Discord: a photo with a saved style or a style picture becomes a public status message with Cancel and a
queued job; errors are answered only to the user; the style menu; the 3 s rule; Cancel checked on the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jobs.models import JobState
from tests.support.bot import workers
from tests.support.discord_bot import (
    World,
    cancel_job_id,
    discord_settings,
    job_state,
    make_world,
    running_discord_bot,
)
from tests.support.fakediscord import ATTACH_FILES, SEND_MESSAGES, FakeInteraction, fake_discord
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(60)

PHOTO = ("photo.png", picture((10, 200, 10), fmt="PNG"))
PAINTING = ("painting.jpg", picture((200, 30, 160)))


async def style(
    world: World, options: dict[str, str] | None = None, **attachments: tuple[str, bytes]
) -> FakeInteraction:
    return await world.fake.send_slash_command(
        world.alice, world.channel, "style", options or {}, attachments={"photo": PHOTO, **attachments}
    )


async def status_of(world: World, interaction: FakeInteraction) -> int:
    """The job whose status message the interaction's public response became (waited for)."""
    await world.fake.until(
        lambda: interaction.original is not None and bool(interaction.original.custom_ids()), "a status message"
    )
    assert interaction.original is not None
    return cancel_job_id(interaction.original)


async def test_a_photo_and_a_preset_become_a_status_message_with_cancel_and_a_painting(tmp_path: Path) -> None:
    async with fake_discord() as fake:
        settings = discord_settings(tmp_path, fake)
        with workers(settings):
            async with running_discord_bot(settings) as client:
                world = make_world(fake)
                interaction = await style(world, {"preset": "mosaic"})
                job_id = await status_of(world, interaction)
                original = interaction.original
                assert original is not None and not original.ephemeral and not interaction.failed
                assert "mosaic" in original.content and "photo.jpg" in original.files
                job = await client.svc.jobs.status(job_id)
                assert job is not None
                assert job.status_message_id == original.id == job.message_id == job.reply_to_message_id
                assert job.style_name == "mosaic" and job.chat_type == "guild" and job.language == "en-US"
                await job_state(client, job_id, {JobState.DONE, JobState.DELIVERED})


async def test_a_photo_and_a_style_picture(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        interaction = await style(world, style=PAINTING)
        job = await client.svc.jobs.status(await status_of(world, interaction))
        assert job is not None and job.style_name == "" and job.state == JobState.QUEUED
        assert interaction.original is not None and "your style picture" in interaction.original.content


async def test_autocomplete_lists_the_matching_presets(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        answer = await (
            await fake.autocomplete(world.alice, world.channel, "style", "preset", {"preset": "star"})
        ).response()
        assert [c["value"] for c in answer.choices] == ["starry_night"]
        everything = await (
            await fake.autocomplete(world.alice, world.channel, "style", "preset", {"preset": ""})
        ).response()
        assert {c["value"] for c in everything.choices} == {"starry_night", "mosaic", "the_scream"}
        assert not answer.failed


async def test_both_a_style_picture_and_a_preset_is_an_error_only_the_user_sees(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        answer = await (await style(world, {"preset": "mosaic"}, style=PAINTING)).response()
        assert answer.original is not None and answer.original.ephemeral
        assert "not both" in answer.original.content
        assert not [m for m in fake.bot_messages(world.channel) if not m.ephemeral] and not fake.cdn_reads


async def test_an_unknown_preset_gets_the_cores_refusal(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        answer = await (await style(world, {"preset": "mosiac"})).response()
        assert answer.original is not None and answer.original.ephemeral
        assert "I don't know a style called “mosiac”. Did you mean “mosaic”?" in answer.original.content


async def test_a_file_that_is_not_a_picture_is_refused_privately(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        answer = await (
            await fake.send_slash_command(
                world.alice, world.channel, "style", {"preset": "mosaic"}, attachments={"photo": ("notes.txt", b"hi")}
            )
        ).response()
        assert answer.original is not None and answer.original.ephemeral
        assert "I can only paint pictures" in answer.original.content and "text/plain" in answer.original.content
        assert not fake.cdn_reads


async def test_the_quota_refusal_is_private(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake, max_jobs_per_day=1)):
        world = make_world(fake)
        await status_of(world, await style(world, {"preset": "mosaic"}))
        answer = await (await style(world, {"preset": "mosaic"})).response()
        assert answer.original is not None and answer.original.ephemeral
        assert "today's limit of 1 picture" in answer.original.content


async def test_neither_style_nor_preset_offers_a_private_menu_whose_pick_paints(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        interaction = await style(world)
        await fake.until(lambda: interaction.original is not None and bool(interaction.original.custom_ids()), "menu")
        menu = interaction.original
        assert menu is not None and menu.ephemeral and "pick a style" in menu.content
        [custom_id] = menu.custom_ids()
        picked = await (await fake.select(menu, custom_id, ["the_scream"], world.alice)).response()
        assert not picked.failed
        await fake.until(lambda: any(m.custom_ids() for m in picked.followups), "a status message")
        [status] = [m for m in picked.followups if m.custom_ids()]
        assert not status.ephemeral and "the scream" in status.content
        job = await client.svc.jobs.status(cancel_job_id(status))
        assert job is not None and job.style_name == "the_scream" and job.status_message_id == status.id
        assert not menu.custom_ids(), "the menu is gone once a style is picked"


async def test_someone_elses_menu_does_not_paint_for_them(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        interaction = await style(world)
        await fake.until(lambda: interaction.original is not None and bool(interaction.original.custom_ids()), "menu")
        menu = interaction.original
        assert menu is not None
        [custom_id] = menu.custom_ids()
        refused = await (await fake.select(menu, custom_id, ["mosaic"], world.bob)).response()
        assert refused.original is not None and refused.original.ephemeral
        assert "whoever sent the photo" in refused.original.content


async def test_a_deferred_answer_keeps_the_three_second_rule_with_a_slow_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        fake_discord(ack_deadline_s=0.4) as fake,
        running_discord_bot(discord_settings(tmp_path, fake)) as client,
    ):
        storage = client.svc.storage
        put = storage.put

        def slow_put(key: str, data: bytes) -> None:
            import time

            time.sleep(0.5)
            put(key, data)

        monkeypatch.setattr(storage, "put", slow_put)
        world = make_world(fake)
        interaction = await style(world, {"preset": "mosaic"})
        job_id = await status_of(world, interaction)
        assert not interaction.failed and interaction.callback_type == 5
        assert await client.svc.jobs.status(job_id) is not None


async def test_cancel_by_the_requester_cancels_and_by_another_member_is_refused(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        interaction = await style(world, {"preset": "mosaic"})
        job_id = await status_of(world, interaction)
        status = interaction.original
        assert status is not None
        bob = await (await fake.click_button(status, f"sb:cancel:{job_id}", world.bob)).response()
        assert bob.original is not None and bob.original.ephemeral and "Only the person" in bob.original.content
        job = await client.svc.jobs.status(job_id)
        assert job is not None and job.state == JobState.QUEUED
        alice = await (await fake.click_button(status, f"sb:cancel:{job_id}", world.alice)).response()
        assert alice.original is not None and "Cancelling" in alice.original.content
        await job_state(client, job_id, {JobState.CANCELLED})


async def test_a_forged_cancel_for_another_job_does_nothing(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        first = await style(world, {"preset": "mosaic"})
        first_id = await status_of(world, first)
        second_id = await status_of(world, await style(world, {"preset": "the_scream"}))
        assert first.original is not None
        status = first.original
        status.components[0]["components"][0]["custom_id"] = f"sb:cancel:{second_id}"  # a forged client
        forged = await (await fake.click_button(status, f"sb:cancel:{second_id}", world.alice)).response()
        assert forged.original is not None and forged.original.ephemeral
        await asyncio.sleep(0.2)
        for job_id in (first_id, second_id):
            job = await client.svc.jobs.status(job_id)
            assert job is not None and job.state == JobState.QUEUED


async def test_without_send_messages_the_user_is_told_privately_and_it_goes_on_in_a_dm(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)) as client:
        world = make_world(fake)
        muted = fake.create_channel(world.guild, "quiet", bot_deny=SEND_MESSAGES | ATTACH_FILES)
        interaction = await fake.send_slash_command(
            world.alice, muted, "style", {"preset": "mosaic"}, attachments={"photo": PHOTO}
        )
        dm = world.dm(world.alice)
        await fake.until(lambda: any(m.custom_ids() for m in fake.bot_messages(dm)), "a status message in the DM")
        [status] = [m for m in fake.bot_messages(dm) if m.custom_ids()]
        assert interaction.original is not None and interaction.original.ephemeral
        assert "direct messages" in interaction.original.content and f"<#{muted.id}>" in interaction.original.content
        assert not [m for m in fake.bot_messages(muted) if not m.ephemeral]
        job = await client.svc.jobs.status(cancel_job_id(status))
        assert job is not None and job.chat_type == "private" and job.status_message_id == status.id
        assert job.chat_id == await client.svc.stored(dm.id)


async def test_a_damaged_picture_found_after_deferring_is_still_told_only_to_the_user(tmp_path: Path) -> None:
    async with fake_discord() as fake, running_discord_bot(discord_settings(tmp_path, fake)):
        world = make_world(fake)
        interaction = await fake.send_slash_command(
            world.alice, world.channel, "style", {"preset": "mosaic"}, attachments={"photo": ("photo.png", b"nope")}
        )
        await fake.until(lambda: bool(interaction.followups), "an answer")
        [answer] = interaction.followups
        assert answer.ephemeral and "couldn't read that picture" in answer.content
        await fake.until(lambda: interaction.original is not None and interaction.original.deleted, "no public answer")
        assert not [m for m in fake.bot_messages(world.channel) if not m.ephemeral]
