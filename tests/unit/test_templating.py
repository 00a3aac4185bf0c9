"""Run variables and ``{{.Run.ID}}`` rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidRequest
from shared.templating import render_template, run_variables

NOW = datetime(2026, 11, 28, 17, 35, 1, tzinfo=UTC)


def test_run_variables() -> None:
    variables = run_variables(
        run_id="ca1",
        registry="myreg.azurecr.io",
        now=NOW,
        commit="abc123",
        branch="main",
        values={"env": "prod"},
    )
    assert variables == {
        "Run.ID": "ca1",
        "Run.Registry": "myreg.azurecr.io",
        "Run.RegistryName": "myreg",
        "Run.Date": "20261128-173501z",
        "Run.Commit": "abc123",
        "Run.Branch": "main",
        "Run.TaskName": "quickrun",
        "Run.OS": "linux",
        "Run.Architecture": "amd64",
        "Values.env": "prod",
    }


@pytest.mark.parametrize(
    ("registry", "name"),
    [
        ("myreg.azurecr.io", "myreg"),
        ("localhost:5000", "localhost"),
        ("registry", "registry"),
        ("127.0.0.1:5000", "127"),
        ("[::1]:5000", "::1"),
    ],
)
def test_registry_name(registry: str, name: str) -> None:
    assert run_variables(run_id="r", registry=registry, now=NOW)["Run.RegistryName"] == name


@pytest.mark.parametrize(
    ("now", "date"),
    [
        (NOW, "20261128-173501z"),
        (
            datetime(2026, 11, 28, 18, 35, 1, tzinfo=timezone(timedelta(hours=1))),
            "20261128-173501z",
        ),
        (datetime(2026, 1, 2, 3, 4, 5), "20260102-030405z"),  # naive: taken as UTC
    ],
)
def test_run_date_is_utc(now: datetime, date: str) -> None:
    assert run_variables(run_id="r", registry="r", now=now)["Run.Date"] == date


VARIABLES = {"Run.ID": "ca1", "Run.Registry": "localhost:5000", "Values.env": "prod"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app:{{.Run.ID}}", "app:ca1"),
        ("app:{{ .Run.ID }}", "app:ca1"),
        ("{{.Run.Registry}}/app:{{.Values.env}}-{{.Run.ID}}", "localhost:5000/app:prod-ca1"),
        ("no templates", "no templates"),
        ("", ""),
        ("a } b }} c {", "a } b }} c {"),
        ("{{.Run.ID}}{{.Run.ID}}", "ca1ca1"),
    ],
)
def test_render(text: str, expected: str) -> None:
    assert render_template(text, VARIABLES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("app:{{.Run.Foo}}", "unknown variable {{.Run.Foo}}; known: {{.Run.ID}}"),
        ("app:{{.Run.ID", "unclosed"),
        ("{{ Run.ID }}", "unsupported"),
        ("{{}}", "unsupported"),
        ("{{ .Run.ID | upper }}", "unsupported"),
    ],
)
def test_render_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        render_template(text, VARIABLES)
    assert message in str(caught.value)


def test_rendered_values_are_not_rendered_again() -> None:
    assert render_template("{{.Values.x}}", {"Values.x": "{{.Run.ID}}"}) == "{{.Run.ID}}"


@given(st.text(max_size=60))
def test_arbitrary_text_renders_or_is_refused(text: str) -> None:
    try:
        rendered = render_template(text, VARIABLES)
    except InvalidRequest:
        assert "{{" in text
        return
    if "{{" not in text:
        assert rendered == text


@given(st.lists(st.sampled_from(["{{.Run.ID}}", "{{ .Values.env }}", "x", "}", "{ "]), max_size=8))
def test_known_variables_always_render(parts: list[str]) -> None:
    text = "".join(parts)
    expected = text.replace("{{.Run.ID}}", "ca1").replace("{{ .Values.env }}", "prod")
    assert render_template(text, VARIABLES) == expected
