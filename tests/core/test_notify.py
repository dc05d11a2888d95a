"""Alerts reach a real HTTP endpoint and a real SMTP server (both started here)."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from driftline.core import notify
from driftline.core.errors import ConfigError
from driftline.core.settings import load_settings


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"type": self.headers["Content-Type"], **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_webhook_gets_slack_compatible_json(webhook) -> None:  # type: ignore[no-untyped-def]
    url, received = webhook
    settings = load_settings(alert_channels="log,webhook", alert_webhook_url=url)
    event = notify.Event("drift", "drift in age", "warning", {"age": "psi=0.4"})
    assert notify.send(settings, event) == ["log", "webhook"]
    assert received[0]["type"] == "application/json"
    assert received[0]["text"] == "[driftline warning] drift in age"
    assert received[0]["driftline"]["details"] == {"age": "psi=0.4"}


def test_a_broken_channel_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(alert_channels="webhook", alert_webhook_url="http://127.0.0.1:9/x")
    assert notify.send(settings, notify.Event("drift", "x")) == []
    assert "alert channel webhook failed" in caplog.text


def test_channels_are_validated() -> None:
    with pytest.raises(ConfigError, match="unknown alert channels"):
        load_settings(alert_channels="log,pager")
    with pytest.raises(ConfigError, match="DRIFTLINE_ALERT_WEBHOOK_URL"):
        load_settings(alert_channels="webhook")
    with pytest.raises(ConfigError, match="http"):
        load_settings(alert_channels="webhook", alert_webhook_url="file:///etc/passwd")


@pytest.mark.integration
def test_email_goes_through_the_airflow_smtp_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiosmtpd.controller import Controller

    messages: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(envelope)
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        connection = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "dl@example.org"},
        }
        monkeypatch.setenv("AIRFLOW_CONN_DRIFTLINE_SMTP", json.dumps(connection))
        settings = load_settings(
            alert_channels="email", alert_email_to="ops@example.org", smtp_conn_id="driftline_smtp"
        )
        event = notify.Event("reject", "model churn v3 rejected", details={"auc": "0.8 -> 0.7"})
        assert notify.send(settings, event) == ["email"]
    finally:
        controller.stop()
    assert messages[0].rcpt_tos == ["ops@example.org"]
    message = email.message_from_bytes(messages[0].content)
    assert "model churn v3 rejected" in message["Subject"]
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert "0.8 -&gt; 0.7" in html.get_payload(decode=True).decode()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
