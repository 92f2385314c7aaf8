"""The sender threads of one send batch (`sending`): they take items from a queue,
record each send's start (`send_starts`), send it on the batch's keep-alive session
and put the answer on another queue. No database, no app context: plain values in and out.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from app.domain.messaging import send_starts
from app.extensions import redis_store

NOT_STARTED = object()     # the answer for an item a sender was told not to send
UNRECORDED = object()      # …for an item whose start it could not record (so did not send)


@dataclass
class Item:
    """What a sender thread needs: plain values, no ORM object crosses a thread."""
    id: int
    account_id: int
    retiree_id: int | None
    campaign_id: int | None
    template_key: str
    template_id: str
    openid: str
    data: dict
    page: str
    attempts: int
    reserved: bool = False
    started_key: str | None = None   # the claim's start set (send_starts), None: unrecorded
    outcome: str = ""
    delay: int = 0
    values: dict = field(default_factory=dict)


class Senders:
    """`size` threads sending `Item`s from `work` on one keep-alive session; each answer goes to
    `results` as (item, response or NOT_STARTED, exception). No database, no app context."""
    def __init__(self, client, session, size: int) -> None:
        self.client, self.session = client, session
        self.redis = redis_store.client
        self.work: queue.SimpleQueue = queue.SimpleQueue()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self._loop, name=f"wx-send-{n}", daemon=True) for n in range(size)]
        for thread in self.threads:
            thread.start()

    def _loop(self) -> None:
        while (item := self.work.get()) is not None:
            if self.halt.is_set():
                self.results.put((item, NOT_STARTED, None))
                continue
            if item.started_key and not send_starts.mark_started(self.redis, item.started_key, item.id):
                self.results.put((item, UNRECORDED, None))
                continue
            try:
                self.results.put((item, send_one(self.client, self.session, item), None))
            except BaseException as exc:  # noqa: BLE001 — the main thread decides what it means
                self.results.put((item, None, exc))

    def drain(self) -> list[Item]:
        """Take back the items no sender has picked up yet."""
        taken = []
        while True:
            try:
                item = self.work.get_nowait()
            except queue.Empty:
                return taken
            if item is not None:
                taken.append(item)

    def close(self) -> None:
        self.halt.set()
        for _ in self.threads:
            self.work.put(None)


def send_one(client, session, item: Item):
    # No app context or database here: the client is thread-safe and takes plain values.
    return client.send_subscribe_message(item.openid, item.template_id, item.data, page=item.page,
                                         session=session)
