"""Limits that hold under races, on both backends: jobs, presets and stored bytes are counted where their row is
inserted (under a lock, in the inserting transaction), so requests sent at once never add up to more; a replaced
preset's or waiting photo's picture is deleted once, after the replacing transaction, unless something still names
it; the upload log outlives /forget and is pruned after the quota window."""

from __future__ import annotations

import asyncio
import time

import pytest

from jobs import keys
from jobs.bot_stores import BotStores
from jobs.models import JobLimits, LimitReached, NewJob
from jobs.retention import QUOTA_WINDOW_S, prune
from tests.support.jobs import new_job
from tests.support.pictures import picture

pytestmark = pytest.mark.timeout(120)

USER = 4242


async def enqueue_at_once(stores: BotStores, jobs: list[NewJob], limits: JobLimits) -> tuple[int, list[LimitReached]]:
    """Enqueue every job concurrently; (how many were created, the refusals)."""
    results = await asyncio.gather(*(stores.jobs.enqueue(job, limits) for job in jobs), return_exceptions=True)
    refused = [r for r in results if isinstance(r, LimitReached)]
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, LimitReached)]
    assert not others, others
    return len(results) - len(refused), refused


async def test_a_users_active_jobs_hold_when_requests_come_at_once(stores: BotStores) -> None:
    jobs = [new_job(stores.storage, USER, 100 + n, chat_id=-500 - n % 4) for n in range(10)]  # four chats
    created, refused = await enqueue_at_once(stores, jobs, JobLimits(max_waiting=1000, max_active=3))
    assert created == 3 and len(refused) == 7
    assert {(r.kind, r.count, r.limit) for r in refused} == {("active", 3, 3)}
    assert await stores.jobs.count_active(USER) == 3
    assert await stores.jobs.count_today(USER) == 3, "a refused request leaves no trace"


async def test_the_daily_limit_holds_when_requests_come_at_once(stores: BotStores) -> None:
    jobs = [new_job(stores.storage, USER, 200 + n, chat_id=-600 - n) for n in range(8)]
    created, refused = await enqueue_at_once(stores, jobs, JobLimits(1000, max_active=100, max_per_day=2))
    assert created == 2 and {r.kind for r in refused} == {"daily"}
    assert await stores.jobs.count_today(USER) == 2


async def test_the_global_queue_cap_holds_across_users(stores: BotStores) -> None:
    jobs = [new_job(stores.storage, 5000 + n, 1) for n in range(9)]
    created, refused = await enqueue_at_once(stores, jobs, JobLimits(max_waiting=4))
    assert created == 4 and {r.kind for r in refused} == {"waiting"}
    assert await stores.jobs.count_waiting() == 4


async def test_a_request_sent_again_is_not_refused_by_its_own_job(stores: BotStores) -> None:
    job = new_job(stores.storage, USER, 300)
    first = await stores.jobs.enqueue(job, JobLimits(1000, max_active=1))
    again = await stores.jobs.enqueue(job, JobLimits(1000, max_active=1))
    assert again.job_id == first.job_id and not again.created


def preset_files(stores: BotStores, chat_id: int) -> list[str]:
    return sorted(item.key for item in stores.storage.objects(f"presets/chat_{chat_id}/"))


async def test_a_burst_of_saves_of_one_preset_leaves_one_picture(stores: BotStores) -> None:
    chat = -777
    saves = [
        stores.presets.add("mine", picture((n, 9, 9), fmt="PNG"), ".png", chat_id=chat, added_by=1, max_per_chat=2)
        for n in range(5)
    ]
    await asyncio.gather(*saves)
    preset = await stores.presets.get("mine", chat)
    assert preset is not None
    assert preset_files(stores, chat) == [preset.image_key]
    assert await stores.presets.count(chat) == 1


async def test_a_burst_of_new_presets_stops_at_the_chats_limit(stores: BotStores) -> None:
    chat = -778
    saves = [
        stores.presets.add(f"style{n}", picture(fmt="PNG"), ".png", chat_id=chat, added_by=1, max_per_chat=2)
        for n in range(6)
    ]
    results = await asyncio.gather(*saves, return_exceptions=True)
    refused = [r for r in results if isinstance(r, LimitReached)]
    assert len(refused) == 4 and {(r.kind, r.limit) for r in refused} == {("presets", 2)}
    assert await stores.presets.count(chat) == 2
    kept = sorted(p.image_key for p in await stores.presets.list(chat) if p.chat_id == chat)
    assert preset_files(stores, chat) == kept, "a refused save leaves no picture"


async def test_a_replaced_preset_picture_stays_while_a_waiting_job_names_it(stores: BotStores) -> None:
    chat = -779
    old = await stores.presets.add("mine", picture(fmt="PNG"), ".png", chat_id=chat, added_by=1)
    job = new_job(stores.storage, USER, 400, chat_id=chat)
    await stores.jobs.enqueue(NewJob(**{**job.__dict__, "style_keys": (old.image_key,)}))
    new = await stores.presets.add("mine", picture((1, 2, 3), fmt="PNG"), ".png", chat_id=chat, added_by=1)
    assert preset_files(stores, chat) == sorted([old.image_key, new.image_key])


async def test_stored_bytes_a_day_hold_when_uploads_come_at_once(stores: BotStores) -> None:
    results = await asyncio.gather(
        *(stores.chat_state.record_upload(USER, 300, max_bytes=1000) for _ in range(10)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, LimitReached)]
    assert len(refused) == 7 and {r.kind for r in refused} == {"uploads"}
    assert await stores.chat_state.uploaded_today(USER) == 900
    await stores.chat_state.record_upload(USER, 5_000)  # an admin's: counted, never refused
    assert await stores.chat_state.uploaded_today(USER) == 5_900


async def test_the_upload_log_outlives_forget_and_is_pruned_after_the_quota_window(stores: BotStores) -> None:
    await stores.chat_state.record_upload(USER, 1234)
    await stores.jobs.forget_user(USER)
    await stores.chat_state.forget_user(USER)
    assert await stores.chat_state.uploaded_today(USER) == 1234
    await prune(stores.database, stores.storage, 30 * 86400.0, now=time.time() + QUOTA_WINDOW_S + 60)
    assert await stores.chat_state.uploaded_today(USER) == 0
    rows = await stores.database.scalar("SELECT count(*) FROM upload_log")
    assert rows == 0


async def test_a_replaced_waiting_photo_is_deleted_unless_a_job_names_it(stores: BotStores) -> None:
    chat = USER
    first, second, third = (keys.upload_key(USER, name, ".png") for name in ("first", "second", "third"))
    for key in (first, second, third):
        stores.storage.put(key, picture(fmt="PNG"))
    await stores.chat_state.set_pending(chat, USER, first, 1)
    await stores.chat_state.set_pending(chat, USER, second, 2)
    assert not stores.storage.exists(first), "a photo replaced while waiting is deleted at once"
    job = new_job(stores.storage, USER, 3, chat_id=chat)
    await stores.jobs.enqueue(NewJob(**{**job.__dict__, "content_key": second}))
    await stores.chat_state.set_pending(chat, USER, third, 4)
    assert stores.storage.exists(second), "a job still paints it"
    await stores.chat_state.set_pending(-1, USER, third, 5)  # the same picture waits in another chat too
    await stores.chat_state.set_pending(chat, USER, second, 6)
    assert stores.storage.exists(third), "another chat's waiting photo still names it"
