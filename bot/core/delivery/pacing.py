"""Telegram's rate limits as this loop keeps them: the limits, and the log of the calls it made."""

from __future__ import annotations

from collections import deque

OVERALL_PER_S = 28  # calls a second this loop makes at most (Telegram: about 30; replies to users need some too)
EDITS_PER_S = 20  # a status edit starts only while fewer calls than this went out in the last second (results
# count too, so the handlers' replies, which this loop does not see, keep a third of Telegram's 30)
GROUP_PER_MIN = 20  # calls a minute into one group (Telegram's limit)
GROUP_EDITS = 10  # a status edit in a group starts only while fewer calls than this went there in the last minute


class CallLog:
    """When this loop called Telegram: over the last second overall, and over the last minute per group."""

    def __init__(self) -> None:
        self._recent: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}

    def note(self, chat_id: int, now: float) -> None:
        self._recent.append(now)
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(now)

    def overall(self, now: float) -> int:
        _prune(self._recent, now - 1.0)
        return len(self._recent)

    def in_group(self, chat_id: int, now: float) -> int:
        calls = self._groups.get(chat_id)
        if calls is None:
            return 0
        _prune(calls, now - 60.0)
        if not calls:
            del self._groups[chat_id]
        return len(calls)

    def wait_s(self, chat_id: int, now: float, overall: int, group: int) -> float:
        """Seconds until one more call fits under `overall` a second (and `group` a minute in a group)."""
        wait = 0.0
        if self.overall(now) >= overall:
            wait = self._recent[-overall] + 1.0 - now
        if chat_id < 0 and self.in_group(chat_id, now) >= group:
            wait = max(wait, self._groups[chat_id][-group] + 60.0 - now)
        return wait

    def sweep(self, now: float) -> None:
        for chat_id in list(self._groups):
            self.in_group(chat_id, now)


def _prune(calls: deque[float], before: float) -> None:
    while calls and calls[0] <= before:
        calls.popleft()
