"""Error messages are for people: they may quote a URL, never its password."""

from __future__ import annotations

import pytest

from driftline.core.errors import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "could not connect (postgresql+psycopg2://airflow:s3cr@t!@db:5432/airflow)",
            "could not connect (postgresql+psycopg2://airflow:***@db:5432/airflow)",
        ),
        ("s3://AKIA:wJalr/XUtn+FEMI@bucket/key", "s3://AKIA:***@bucket/key"),
        ("sqlite:////tmp/airflow.db and http://host:8080/x", None),
        ("two: a://u:p@h and b://v:q@i", "two: a://u:***@h and b://v:***@i"),
    ],
)
def test_redact_masks_passwords_in_urls(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_the_cli_prints_errors_as_text_without_passwords(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from driftline.cli import print_error

    print_error(ValueError("[alert:drift] db postgresql://u:hunter2@db/x is down"))
    out = capsys.readouterr().out
    assert "hunter2" not in out
    assert "[alert:drift] db postgresql://u:***@db/x is down" in out
