"""Messaging settings: send batches, retries, the sweeper and the consent ledger."""
from __future__ import annotations

from config.declare import Setting

GROUP = "Messaging"
SETTINGS = (
    Setting("MESSAGING_BATCH_SIZE", "int", 500, "notifications per send job", minimum=1),
    Setting("MESSAGING_SEND_CONCURRENCY", "int", 32, "concurrent sends inside one job (one keep-alive session)",
            minimum=1, maximum=256),
    Setting("MESSAGING_JOB_TIMEOUT", "int", 300, "seconds before a send job is killed", minimum=10),
    Setting("MESSAGING_MAX_ATTEMPTS", "int", 5, "retries of busy/5xx/timeout answers before `failed`", minimum=1),
    Setting("MESSAGING_RETRY_BASE_SECONDS", "int", 10, "backoff base: base·3ⁿ seconds", minimum=0),
    Setting("MESSAGING_RETRY_MAX_SECONDS", "int", 900, "backoff cap (seconds)", minimum=0),
    Setting("MESSAGING_PENDING_STALE_SECONDS", "int", 60, "the sweeper re-enqueues pending rows older than this",
            minimum=0),
    Setting("MESSAGING_SENDING_STALE_SECONDS", "int", None,
            "a row still `sending` after this many seconds becomes `unknown`", minimum=1,
            shown_default="`MESSAGING_JOB_TIMEOUT` + 60"),
    Setting("MESSAGING_SWEEP_INTERVAL", "int", 30, "seconds between sweeps", minimum=1),
    Setting("CONSENT_PAIR_WINDOW_SECONDS", "int", 600,
            "an API accept and a WeChat popup event within this window count once", minimum=0),
)
