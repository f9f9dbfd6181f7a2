"""What the delivery loop counts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DeliveryStats:
    """Counters for benchmarks and tests."""

    result_rounds: int = 0
    status_rounds: int = 0
    delivered: int = 0
    delivery_errors: int = 0
    edits: int = 0
    edit_errors: int = 0
