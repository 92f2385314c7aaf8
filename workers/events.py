"""Activity jobs (queue `default`). Thin: app context, one domain call, the count returned.

The reminder run is idempotent (each registration is claimed once through `reminded_at`, and
the message carries an idempotency key), so a second run the same day sends nothing.
"""
from __future__ import annotations

from app.domain.events import activities
from workers import app_context

# The day-before reminder, once a day at 10:00 Asia/Shanghai (02:00 UTC).
PERIODIC = (
    {"func": "workers.events.send_activity_reminders", "queue": "default", "cron": "0 2 * * *", "timeout": 1800},
)


def send_activity_reminders() -> dict:
    """Remind everyone seated for an activity that starts tomorrow (service zone)."""
    with app_context():
        return {"reminded": activities.send_reminders()}
