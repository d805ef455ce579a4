"""Push a notice to a member's open `/live/notifications` streams: notifications owns it
(`notifications.live`, which the outbox feeds); re-exported here for code that speaks of the hub."""

from notifications.live import notice_publish, user_channel  # noqa: F401
