"""One speed fix for moto's SQS, applied in the local stack's emulator process and in tests that send
thousands of messages.

moto's ``SendMessage`` reads one queue attribute (``ContentBasedDeduplication``) through a property that
recomputes every attribute, including the approximate message counts, over every stored message: each
send costs time in proportion to the queue's length, so a queue of a thousand messages makes each send
take tens of milliseconds (SQS's own sends do not grow with the queue). While a send runs, the property
answers just that attribute; everywhere else (``GetQueueAttributes`` included) it is moto's own.
"""

from __future__ import annotations

import threading
from typing import Any

_sending = threading.local()
_APPLIED = "_agiletrack_fast_send"


def apply_sqs_send_fix() -> None:
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend.send_message, _APPLIED, False):
        return
    original_send = SQSBackend.send_message
    original_attributes: property = Queue.attributes  # type: ignore[assignment]

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            _sending.active = False

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(_sending, "active", False):
            return {"ContentBasedDeduplication": "true" if self.content_based_deduplication else "false"}
        value: dict[str, Any] = original_attributes.fget(self)  # type: ignore[misc]
        return value

    setattr(send_message, _APPLIED, True)
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
