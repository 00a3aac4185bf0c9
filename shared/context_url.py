"""Where a build context lives: a Git repository or a tarball URL, classified as ACR does.

Everything here is refused early because the builder hands these strings to ``git``
and to an HTTP client: a leading ``-`` becomes an option, ``ext::`` runs a command,
``file://`` reads the builder's own disk and a link-local address reaches the cloud
metadata endpoint.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from shared.errors import InvalidRequest

_TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_GIT_SCHEMES = frozenset({"http", "https", "ssh", "git"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT_HELPER = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")
# user@host:path, Git's scp-like syntax; the user and host may not start with '-'
# (ssh would read them as options).
_SCP_LIKE = re.compile(
    r"(?P<user>[A-Za-z0-9_][A-Za-z0-9._-]*)@(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path>.+)"
)
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9._-]*[a-z0-9_])?")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ACCEPTED_FORMS = (
    "use https://host/owner/repo.git[#ref[:subfolder]], ssh://…, git://…, "
    "git@host:owner/repo.git, or an http(s) URL of a .tar.gz, .tgz or .tar"
)


@dataclass(frozen=True)
class GitContext:
    """A Git repository, optionally at a ref and in a subfolder."""

    url: str
    ref: str | None
    subfolder: str | None

    @property
    def host(self) -> str:
        scp = _SCP_LIKE.fullmatch(self.url)
        if scp is not None and _SCHEME.match(self.url) is None:
            return scp.group("host").lower()
        return urlsplit(self.url).hostname or ""


@dataclass(frozen=True)
class TarballContext:
    """An http(s) URL of a tar archive (optionally gzipped) of the context."""

    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def parse_context_url(text: str) -> GitContext | TarballContext:
    """Classify and validate a context URL (``#ref:subfolder`` allowed for Git)."""
    _check_plain_text(text)
    url, hash_mark, fragment = text.partition("#")
    scheme = _SCHEME.match(url)
    if scheme is None:
        return _parse_scp_like(text, url, fragment if hash_mark else None)
    parts = _split_url(text, url, scheme.group(1).lower())
    if parts.scheme in ("http", "https") and parts.path.lower().endswith(_TARBALL_SUFFIXES):
        if hash_mark:
            raise InvalidRequest(
                f"context {text!r}: a tarball URL takes no '#ref:subfolder'; "
                "put the subfolder's contents at the root of the archive"
            )
        return TarballContext(url=url)
    ref, subfolder = _parse_fragment(text, fragment) if hash_mark else (None, None)
    return GitContext(url=url, ref=ref, subfolder=subfolder)


def _check_plain_text(text: str) -> None:
    if not isinstance(text, str) or not text:
        raise InvalidRequest(f"the context is empty; {_ACCEPTED_FORMS}")
    if text.startswith("-"):
        raise InvalidRequest(f"context {text!r} starts with '-'; {_ACCEPTED_FORMS}")
    if _TRANSPORT_HELPER.match(text):
        raise InvalidRequest(
            f"context {text!r} uses a Git transport helper ('<transport>::'), which is "
            f"not allowed; {_ACCEPTED_FORMS}"
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise InvalidRequest(
            f"context {text!r} contains spaces or control characters; "
            "percent-encode them in the URL"
        )


def _split_url(text: str, url: str, scheme: str) -> SplitResult:
    if scheme == "file":
        raise InvalidRequest(
            f"context {text!r}: file:// URLs are not allowed (they read the builder's own "
            "disk); upload the folder as a tarball instead"
        )
    if scheme not in _GIT_SCHEMES:
        raise InvalidRequest(
            f"context {text!r}: the scheme {scheme!r} is not supported; {_ACCEPTED_FORMS}"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port; urlsplit alone does not
    except ValueError as exc:
        raise InvalidRequest(f"context {text!r} is not a valid URL ({exc})") from exc
    _check_authority(text, parts)
    return parts


def _check_authority(text: str, parts: SplitResult) -> None:
    if not parts.hostname or not _is_valid_host_name(parts.hostname):
        raise InvalidRequest(f"context {text!r} has no valid host; {_ACCEPTED_FORMS}")
    # An ssh user name (git@) is not a secret; an http(s) user name usually is a token.
    if parts.username is not None and parts.username.startswith("-"):
        raise InvalidRequest(f"context {text!r}: the user name may not start with '-'")
    if parts.password is not None or (parts.username is not None and parts.scheme != "ssh"):
        raise InvalidRequest(
            f"context {parts.scheme}://…@{parts.hostname}: credentials in the URL are not "
            "allowed (they would end up in logs and run records); remove them and use a "
            "credential setting for the repository instead"
        )


def _is_valid_host_name(hostname: str) -> bool:
    if ":" in hostname:  # urlsplit already removed the brackets of an IPv6 literal
        try:
            ipaddress.IPv6Address(hostname)
        except ValueError:
            return False
        return True
    return _HOST_NAME.fullmatch(hostname) is not None


def _parse_scp_like(text: str, url: str, fragment: str | None) -> GitContext:
    match = _SCP_LIKE.fullmatch(url)
    if match is None:
        if url.lower().startswith("file:"):
            raise InvalidRequest(
                f"context {text!r}: local paths are not allowed; "
                "upload the folder as a tarball instead"
            )
        raise InvalidRequest(f"context {text!r} is not a URL Drydock can fetch; {_ACCEPTED_FORMS}")
    ref, subfolder = _parse_fragment(text, fragment) if fragment is not None else (None, None)
    return GitContext(url=url, ref=ref, subfolder=subfolder)


def _parse_fragment(text: str, fragment: str) -> tuple[str | None, str | None]:
    ref, _, subfolder = fragment.partition(":")
    if ref:
        check_ref_format(ref)
    return ref or None, _normalise_subfolder(text, subfolder)


def check_ref_format(ref: str) -> None:
    """Refuse what ``git check-ref-format`` refuses (and a leading '-')."""
    problem = _ref_problem(ref)
    if problem:
        raise InvalidRequest(
            f"invalid Git ref {ref!r}: {problem}; give a branch, tag or commit SHA"
        )


def _ref_problem(ref: str) -> str | None:
    if ref.startswith("-"):
        return "it starts with '-'"
    if ref == "@":
        return "'@' alone is not a ref"
    if _REF_FORBIDDEN.search(ref):
        return "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in ref or "@{" in ref:
        return "it contains '..' or '@{'"
    if ref.endswith((".", "/")):
        return "it ends with '.' or '/'"
    for component in ref.split("/"):
        if not component:
            return "it has an empty component ('//' or a leading '/')"
        if component.startswith(".") or component.endswith(".lock"):
            return "a component starts with '.' or ends with '.lock'"
    return None


def _normalise_subfolder(text: str, subfolder: str) -> str | None:
    if subfolder.startswith(("/", "\\", "-")):
        raise InvalidRequest(
            f"context {text!r}: the subfolder {subfolder!r} must be a relative path "
            "inside the repository (no leading '/' or '-')"
        )
    components = [part for part in subfolder.split("/") if part not in ("", ".")]
    if ".." in components or any("\\" in part for part in components):
        raise InvalidRequest(
            f"context {text!r}: the subfolder {subfolder!r} may not contain '..' or '\\'; "
            "name a folder inside the repository"
        )
    return "/".join(components) or None


def check_address_allowed(host: str, addresses: Sequence[str], allow_private: bool) -> None:
    """Refuse a host whose resolved addresses Drydock must not connect to.

    Link-local (cloud metadata endpoints) is refused always; loopback, private, CGNAT,
    unspecified, multicast and reserved addresses unless ``allow_private``.
    """
    if not addresses:
        raise InvalidRequest(f"the host {host!r} does not resolve to any address; check its name")
    forms = [form for text in addresses for form in _address_forms(host, text)]
    # Link-local first: it is refused even where private networks are allowed.
    for address in forms:
        if address.is_link_local:
            raise InvalidRequest(
                f"the host {host!r} resolves to the link-local address {address}, which is "
                "never allowed (it reaches cloud metadata endpoints); use a routable host"
            )
    if allow_private:
        return
    for address in forms:
        if _is_restricted(address):
            raise InvalidRequest(
                f"the host {host!r} resolves to {address}, a loopback, private or reserved "
                "address; use a public host, or set DRYDOCK_ALLOW_PRIVATE_NETWORKS=true"
            )


def _address_forms(host: str, text: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address and every IPv4 address embedded in it (mapped, compatible, 6to4, NAT64)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise InvalidRequest(f"the host {host!r} resolved to {text!r}, not an IP address") from exc
    forms: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        packed = int(address)
        embedded = [address.ipv4_mapped, address.sixtofour]
        if (packed >> 32 == 0 and packed > 1) or address in _NAT64:
            embedded.append(ipaddress.IPv4Address(packed & 0xFFFFFFFF))
        forms.extend(form for form in embedded if form is not None)
    return forms


def _is_restricted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        address.is_loopback
        or address.is_private
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )
