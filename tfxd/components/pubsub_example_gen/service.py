"""Pub/Sub I/O: check a subscription, drain it, acknowledge, peek. Plain functions over the
google-cloud-pubsub client, testable without TFX. The endpoint and credentials come from the
environment (``PUBSUB_EMULATOR_HOST``, ``GOOGLE_APPLICATION_CREDENTIALS``), never from the pipeline.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tfxd.components.stream.journal import Message, StreamError

ACK_CHUNK = 1000  # ack ids per request (the API takes at most 2,500)
PULL_CHUNK = 1000  # messages per pull request
LEASE_SECONDS = 60  # a held message's lease is extended to this
LEASE_MARGIN = 4.0  # seconds before a lease ends that it is extended (ack deadlines are >= 10 s)


class PubSubError(StreamError):
    """A subscription cannot be read: missing, not allowed, or unreachable."""


def client() -> Any:
    try:
        from google.cloud import pubsub_v1
    except ImportError as err:  # pragma: no cover - a base dependency
        from tfxd.errors import MissingDependencyError

        raise MissingDependencyError("google-cloud-pubsub", "PubSubExampleGen") from err
    import google.auth.exceptions

    try:
        return pubsub_v1.SubscriberClient()
    except google.auth.exceptions.DefaultCredentialsError as err:
        raise PubSubError(
            "Pub/Sub: no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account "
            "key file (or run on a node with a service account), or PUBSUB_EMULATOR_HOST for an "
            f"emulator ({err})"
        ) from err


def explain(err: Exception, subscription: str) -> PubSubError:
    """A client error as a PubSubError saying what to do."""
    from google.api_core import exceptions

    if isinstance(err, exceptions.NotFound):
        return PubSubError(
            f"Pub/Sub subscription {subscription} does not exist: create it "
            f"(gcloud pubsub subscriptions create … --topic …) or fix the name in the pipeline file"
        )
    if isinstance(err, (exceptions.PermissionDenied, exceptions.Unauthenticated)):
        return PubSubError(
            f"Pub/Sub refused access to {subscription} ({err.message}): grant the credentials "
            "in GOOGLE_APPLICATION_CREDENTIALS roles/pubsub.subscriber on it"
        )
    return PubSubError(f"Pub/Sub: {subscription}: {err}")


def check(subscriber: Any, subscription: str) -> int:
    """Fail early and clearly when the subscription is missing or not readable; its ack
    deadline in seconds."""
    from google.api_core import exceptions

    try:
        found = subscriber.get_subscription(subscription=subscription, timeout=30)
    except exceptions.GoogleAPICallError as err:
        raise explain(err, subscription) from err
    return int(found.ack_deadline_seconds or 10)


def drain(
    subscriber: Any,
    subscription: str,
    *,
    max_messages: int,
    idle_timeout: float,
    window: float,
    seen: set[str],
    progress: Callable[[int], None] = lambda n: None,
    ack_deadline: float = 10,
) -> tuple[list[Message], list[str]]:
    """Pull without acknowledging until ``max_messages`` new messages, ``idle_timeout`` seconds
    without one, or ``window`` seconds in all. Returns the new messages, each once (a message
    delivered again during the drain keeps its newest ack id), and the ack ids of deliveries
    whose message id is in ``seen`` (already in a span: to be acknowledged, not kept)."""
    from google.api_core import exceptions

    batch: dict[str, Message] = {}
    repeats: list[str] = []
    leases: deque[tuple[float, str]] = deque()  # (when the lease ends, ack id), oldest first
    start = last = time.monotonic()
    while len(batch) < max_messages:
        now = time.monotonic()
        if now - last >= idle_timeout or now - start >= window:
            break
        ending = []  # keep what is held from being delivered again
        while leases and leases[0][0] - now < LEASE_MARGIN:
            ending.append(leases.popleft()[1])
        if ending:
            hold(subscriber, subscription, ending)
            leases.extend((now + LEASE_SECONDS, ack_id) for ack_id in ending)
        wait = min(idle_timeout - (now - last), window - (now - start))
        if leases:
            wait = min(wait, leases[0][0] - LEASE_MARGIN - now)
        wait = max(1.0, wait)
        try:
            reply = subscriber.pull(
                subscription=subscription,
                max_messages=min(PULL_CHUNK, max_messages - len(batch)),
                timeout=wait,
            )
        except exceptions.DeadlineExceeded:
            continue
        except exceptions.GoogleAPICallError as err:
            raise explain(err, subscription) from err
        before = len(batch)
        for received in reply.received_messages:
            m = received.message
            if m.message_id in seen:
                repeats.append(received.ack_id)
                continue
            batch[m.message_id] = Message(
                id=m.message_id,
                data=bytes(m.data),
                attributes=dict(m.attributes),
                publish_time=m.publish_time.timestamp(),
                ack_id=received.ack_id,
            )
            leases.append((time.monotonic() + ack_deadline, received.ack_id))
        if len(batch) > before:  # only new messages keep the drain going, not redeliveries
            last = time.monotonic()
            progress(len(batch))
    return list(batch.values())[:max_messages], repeats


def acknowledge(subscriber: Any, subscription: str, ack_ids: list[str]) -> None:
    """Acknowledge in chunks. A lost ack only means a redelivery, which the journal drops."""
    from google.api_core import exceptions

    ack_ids = [a for a in ack_ids if a]  # journaled messages carry none: nothing to do
    for i in range(0, len(ack_ids), ACK_CHUNK):
        try:
            subscriber.acknowledge(subscription=subscription, ack_ids=ack_ids[i : i + ACK_CHUNK])
        except exceptions.GoogleAPICallError as err:
            logging.warning("Pub/Sub: acknowledging %s failed (%s): expect redelivery", i, err)


def waiting(subscriber: Any, subscription: str, timeout: float = 5.0) -> bool:
    """Whether a message is waiting; the one pulled to see is handed straight back."""
    from google.api_core import exceptions

    try:
        reply = subscriber.pull(subscription=subscription, max_messages=1, timeout=timeout)
    except exceptions.DeadlineExceeded:
        return False
    except exceptions.GoogleAPICallError as err:
        raise explain(err, subscription) from err
    ack_ids = [r.ack_id for r in reply.received_messages]
    release(subscriber, subscription, ack_ids)
    return bool(ack_ids)


def _lease(subscriber: Any, subscription: str, ack_ids: list[str], seconds: int) -> None:
    from google.api_core import exceptions

    for i in range(0, len(ack_ids), ACK_CHUNK):
        try:
            subscriber.modify_ack_deadline(
                subscription=subscription,
                ack_ids=ack_ids[i : i + ACK_CHUNK],
                ack_deadline_seconds=seconds,
            )
        except exceptions.GoogleAPICallError as err:
            logging.warning("Pub/Sub: changing ack deadlines failed (%s)", err)


def hold(subscriber: Any, subscription: str, ack_ids: list[str]) -> None:
    """Extend the lease of messages a drain holds; were it lost, they would only come back."""
    _lease(subscriber, subscription, ack_ids, LEASE_SECONDS)


def release(subscriber: Any, subscription: str, ack_ids: list[str]) -> None:
    """Hand messages back at once (ack deadline 0), for another drain to take."""
    _lease(subscriber, subscription, ack_ids, 0)
