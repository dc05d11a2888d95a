"""Alerts: a breach, a failed task, a promotion or a rejection, sent to the channels that
`DRIFTLINE_ALERT_CHANNELS` names (log, webhook, email).

The webhook gets Slack-compatible JSON (`{"text": ...}`, with the event's fields beside
it); e-mail goes through the Airflow SMTP connection `DRIFTLINE_SMTP_CONN_ID`. Sending is
best effort: a channel that fails is logged as an error and never fails the pipeline step
that raised the alert (the event is also in the task log and, for decisions, in the
`decisions` table).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import asdict, dataclass, field, replace
from html import escape
from typing import Any, Literal

from driftline.core.settings import Settings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Event:
    # drift | label_shift | prediction_shift | data_quality | accuracy | leakage | retrain |
    # promote | reject | quality | segment_gap | unmatched_labels | missing_delivery |
    # task_failed
    kind: str
    summary: str
    severity: Literal["info", "warning", "error"] = "info"
    details: dict[str, Any] = field(default_factory=dict)


def send(settings: Settings, event: Event) -> list[str]:
    """Send `event` to every configured channel; return the channels that took it.

    In a project of many pipelines the event says whose it is.
    """
    if settings.pipeline is not None:
        event = replace(
            event,
            summary=f"{settings.pipeline}: {event.summary}",
            details={"pipeline": settings.pipeline, **event.details},
        )
    delivered = []
    for channel in Settings.split_channels(settings.alert_channels):
        try:
            _CHANNELS[channel](settings, event)
        except Exception:  # a broken alert channel must not fail the pipeline
            logger.exception("alert channel %s failed for %s event", channel, event.kind)
        else:
            delivered.append(channel)
    return delivered


def _log(settings: Settings, event: Event) -> None:
    level = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
    logger.log(level[event.severity], "[alert:%s] %s", event.kind, event.summary)


def _webhook(settings: Settings, event: Event) -> None:
    assert settings.alert_webhook_url is not None
    body = json.dumps(
        {"text": f"[driftline {event.severity}] {event.summary}", "driftline": asdict(event)},
        default=str,
    ).encode()
    request = urllib.request.Request(
        settings.alert_webhook_url.get_secret_value(),
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        if response.status >= 300:
            raise OSError(f"webhook answered HTTP {response.status}")


def _email(settings: Settings, event: Event) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
        for k, v in event.details.items()
    )
    html = f"<p>{escape(event.summary)}</p><table>{rows}</table>"
    with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=settings.alert_email_to or "",
            subject=f"[driftline {event.severity}] {event.kind}: {event.summary[:120]}",
            html_content=html,
        )


_CHANNELS = {"log": _log, "webhook": _webhook, "email": _email}
