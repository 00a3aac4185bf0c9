"""Context URLs: Git vs tarball, refused forms, and the address policy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.context_url import (
    GitContext,
    TarballContext,
    check_address_allowed,
    parse_context_url,
)
from shared.errors import InvalidRequest


@pytest.mark.parametrize(
    ("text", "expected", "host"),
    [
        (
            "https://github.com/o/r.git",
            GitContext("https://github.com/o/r.git", None, None),
            "github.com",
        ),
        (
            "https://github.com/o/r#main",
            GitContext("https://github.com/o/r", "main", None),
            "github.com",
        ),
        (
            "https://github.com/o/r.git#feature/x:src/app",
            GitContext("https://github.com/o/r.git", "feature/x", "src/app"),
            "github.com",
        ),
        (
            "https://GitHub.com/o/r#:docker/",
            GitContext("https://GitHub.com/o/r", None, "docker"),
            "github.com",
        ),
        (
            "http://127.0.0.1:9418/r.git#",
            GitContext("http://127.0.0.1:9418/r.git", None, None),
            "127.0.0.1",
        ),
        (
            "ssh://git@host.example:2222/o/r.git",
            GitContext("ssh://git@host.example:2222/o/r.git", None, None),
            "host.example",
        ),
        (
            "git://localhost/r.git#v1.0",
            GitContext("git://localhost/r.git", "v1.0", None),
            "localhost",
        ),
        (
            "git@github.com:owner/repo.git",
            GitContext("git@github.com:owner/repo.git", None, None),
            "github.com",
        ),
        (
            "git@github.com:owner/repo#0123abc:./a/./b",
            GitContext("git@github.com:owner/repo", "0123abc", "a/b"),
            "github.com",
        ),
        ("https://[::1]:8080/r.git", GitContext("https://[::1]:8080/r.git", None, None), "::1"),
        (
            "https://example.com/ctx.tar.gz",
            TarballContext("https://example.com/ctx.tar.gz"),
            "example.com",
        ),
        (
            "http://example.com/a/ctx.tgz?sig=x%2F",
            TarballContext("http://example.com/a/ctx.tgz?sig=x%2F"),
            "example.com",
        ),
        (
            "https://example.com/ctx.TAR",
            TarballContext("https://example.com/ctx.TAR"),
            "example.com",
        ),
    ],
)
def test_classifies(text: str, expected: GitContext | TarballContext, host: str) -> None:
    parsed = parse_context_url(text)
    assert parsed == expected
    assert parsed.host == host


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("file:///etc/passwd", "file://"),
        ("ext::sh -c touch% /tmp/pwned", "transport helper"),
        ("fd::17", "transport helper"),
        ("ftp://example.com/r.git", "'ftp' is not supported"),
        ("-uhttps://example.com/r", "starts with '-'"),
        ("https://user:pass@github.com/o/r", "credential setting"),
        ("https://token@github.com/o/r", "credential setting"),
        ("ssh://git:secret@host/r", "credential setting"),
        ("ssh://-oProxyCommand=x@host/r", "may not start with '-'"),
        ("git@-oProxyCommand=x:r", "not a URL Drydock can fetch"),
        ("https://example.com/r #main", "spaces or control"),
        ("https://example.com/r\n", "spaces or control"),
        ("https://exa!mple.com/r", "no valid host"),
        ("https:///r.git", "no valid host"),
        ("https://example.com:99999/r", "not a valid URL"),
        ("https://[::1/r", "not a valid URL"),
        ("/srv/repo", "not a URL"),
        ("example.com/r.git", "not a URL"),
        ("https://example.com/ctx.tar.gz#main", "tarball URL takes no"),
        ("https://e.com/r#-main", "starts with '-'"),
        ("https://e.com/r#a..b", "'..'"),
        ("https://e.com/r#a@{1}", "'@{'"),
        ("https://e.com/r#@", "'@' alone"),
        ("https://e.com/r#a~1", "~ ^ :"),
        ("https://e.com/r#a^", "~ ^ :"),
        ("https://e.com/r#a?", "~ ^ :"),
        ("https://e.com/r#a*", "~ ^ :"),
        ("https://e.com/r#a[b", "~ ^ :"),
        ("https://e.com/r#a\\b", "~ ^ :"),
        ("https://e.com/r#main.", "ends with"),
        ("https://e.com/r#main/", "ends with"),
        ("https://e.com/r#a//b", "empty component"),
        ("https://e.com/r#/a", "empty component"),
        ("https://e.com/r#a/.hidden", "starts with '.'"),
        ("https://e.com/r#a.lock", "'.lock'"),
        ("https://e.com/r#main:/etc", "relative path"),
        ("https://e.com/r#main:-x", "relative path"),
        ("https://e.com/r#main:a/../../b", "'..'"),
    ],
)
def test_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_context_url(text)
    assert message in str(caught.value)


def test_credentials_are_not_echoed() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_context_url("https://user:hunter2@github.com/o/r")
    assert "hunter2" not in str(caught.value)


_url_chars = st.sampled_from(
    list("abc/:.@#-~^?*[\\ ") + ["https://", "git@", "ssh://", "::", ".tar.gz", ".."]
)


@given(st.one_of(st.text(max_size=40), st.lists(_url_chars, max_size=12).map("".join)))
def test_arbitrary_text_parses_or_is_refused(text: str) -> None:
    try:
        parsed = parse_context_url(text)
    except InvalidRequest:
        return
    assert not parsed.url.startswith("-")
    assert parsed.host
    if isinstance(parsed, GitContext):
        assert parsed.ref is None or (".." not in parsed.ref and not parsed.ref.startswith("-"))
        assert parsed.subfolder is None or ".." not in parsed.subfolder.split("/")


@given(
    st.from_regex(
        r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}(/[A-Za-z0-9_][A-Za-z0-9_-]{0,10}){0,2}", fullmatch=True
    )
)
def test_ordinary_branch_names_are_accepted(ref: str) -> None:
    if ref.endswith((".", ".lock")) or ".." in ref:
        return
    assert parse_context_url(f"https://e.com/r.git#{ref}") == GitContext(
        "https://e.com/r.git", ref, None
    )


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.0.1",
        "fe80::1",
        "fe80::1%eth0",
        "::ffff:169.254.169.254",
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
    ],
)
@pytest.mark.parametrize("allow_private", [True, False])
def test_link_local_is_always_refused(address: str, allow_private: bool) -> None:
    with pytest.raises(InvalidRequest, match="link-local"):
        check_address_allowed("meta.example", [address], allow_private)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "fd00::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "240.0.0.1",
    ],
)
def test_private_addresses_need_permission(address: str) -> None:
    with pytest.raises(InvalidRequest, match="DRYDOCK_ALLOW_PRIVATE_NETWORKS"):
        check_address_allowed("internal.example", [address], allow_private=False)
    check_address_allowed("internal.example", [address], allow_private=True)


@pytest.mark.parametrize("addresses", [["140.82.112.3"], ["2606:4700::1111", "1.1.1.1"]])
def test_public_addresses_are_allowed(addresses: list[str]) -> None:
    check_address_allowed("github.com", addresses, allow_private=False)


def test_one_bad_address_among_good_ones_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="10.0.0.1"):
        check_address_allowed("mixed.example", ["1.1.1.1", "10.0.0.1"], allow_private=False)


@pytest.mark.parametrize(
    ("addresses", "message"), [([], "does not resolve"), (["nope"], "not an IP address")]
)
def test_unusable_address_lists(addresses: list[str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        check_address_allowed("x.example", addresses, allow_private=True)


@given(
    st.lists(st.one_of(st.ip_addresses().map(str), st.text(max_size=20)), max_size=4), st.booleans()
)
def test_address_check_never_raises_anything_else(
    addresses: list[str], allow_private: bool
) -> None:
    try:
        check_address_allowed("h.example", addresses, allow_private)
    except InvalidRequest:
        return
    assert addresses
