import pytest

from devhost.routes import RouteError, RouteTable, compile_route


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("runs", "runs", {}),
        ("runs", "RUNS/", {}),
        ("runs", "runs/x", None),
        ("runs/{runId}", "runs/abc-123", {"runId": "abc-123"}),
        ("runs/{runId}", "runs/a%20b", {"runId": "a b"}),
        ("runs/{runId}", "runs/a%2Fb", {"runId": "a/b"}),
        ("runs/{runId}", "runs", None),
        ("runs/{runId}", "runs/a/b", None),
        ("runs/{runId}/log", "runs/r1/log", {"runId": "r1"}),
        ("items/{id:int}", "items/42", {"id": "42"}),
        ("items/{id:int}", "items/x", None),
        ("items/{name:alpha}", "items/abc", {"name": "abc"}),
        ("items/{name:alpha}", "items/ab1", None),
        (
            "items/{id:guid}",
            "items/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            {"id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
        ),
        ("items/{flag:bool}", "items/True", {"flag": "True"}),
        ("items/{code:regex(^[a-z]{{2}}\\d$)}", "items/ab1", {"code": "ab1"}),
        ("items/{id:int:min(1)}", "items/5", {"id": "5"}),
        ("items/{name?}", "items", {}),
        ("items/{name?}", "items/x", {"name": "x"}),
        ("items/{page=1}", "items", {"page": "1"}),
        ("items/{page=1}", "items/3", {"page": "3"}),
        ("files/{*path}", "files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("files/{*path}", "files", {}),
        ("files/{name}.{ext}", "files/a.tar", {"name": "a", "ext": "tar"}),
        ("", "", {}),
    ],
)
def test_compile_and_match(template, path, expected):
    assert compile_route(template).match(path) == expected


@pytest.mark.parametrize("template", ["runs/{", "runs/{a}}", "files/{*rest}/x", "x/{1a}"])
def test_malformed_templates_are_refused(template):
    with pytest.raises(RouteError):
        compile_route(template)


def _table() -> RouteTable[str]:
    table: RouteTable[str] = RouteTable()
    table.add("runs/{runId}", ["GET"], "get_run")
    table.add("runs/{runId}", ["DELETE"], "cancel_run")
    table.add("runs/latest", ["GET"], "latest")
    table.add("hooks/{*rest}", None, "catch_all")
    table.add("hooks/github", ["post"], "github")
    return table


@pytest.mark.parametrize(
    ("method", "path", "target", "params"),
    [
        ("GET", "runs/r1", "get_run", {"runId": "r1"}),
        ("DELETE", "runs/r1", "cancel_run", {"runId": "r1"}),
        ("GET", "runs/latest", "latest", {}),  # literals win over parameters
        ("POST", "hooks/github", "github", {}),
        ("PUT", "hooks/github", "catch_all", {"rest": "github"}),  # any method
        ("GET", "hooks/gitea/x", "catch_all", {"rest": "gitea/x"}),
    ],
)
def test_table_resolves_by_precedence_and_method(method, path, target, params):
    match = _table().resolve(method, path)
    assert match is not None
    assert (match.target, match.route_params) == (target, params)


def test_table_reports_allowed_methods_when_only_the_method_is_wrong():
    match = _table().resolve("POST", "runs/r1")
    assert match is not None
    assert match.target is None
    assert match.allowed_methods == {"GET", "DELETE"}


def test_table_returns_none_for_an_unknown_path():
    assert _table().resolve("GET", "nothing/here") is None
