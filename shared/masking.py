"""Keep secrets out of logs, including secrets split across streamed chunks.

A build log arrives in arbitrary chunks, so a secret may straddle two of them.
``SecretMasker.feed`` emits everything that can no longer become part of a secret
and holds back only the tail that could still begin one; the concatenation of its
output equals masking the whole text at once.

Secrets that share characters with the mask (e.g. a secret containing ``*`` with the
default ``***``) could be re-formed by a mask next to ordinary text; pick a mask
whose characters do not occur in the secrets if that matters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


class SecretMasker:
    """Replaces every occurrence of any secret with ``mask``, longest secret first."""

    def __init__(self, secrets: Iterable[str], mask: str = "***") -> None:
        # Longest first: at one position the longest secret wins, so a secret that
        # contains a shorter one is masked whole rather than leaving its remainder.
        unique = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._mask = mask
        self._secrets = unique
        self._pattern = re.compile("|".join(map(re.escape, unique))) if unique else None
        self._longest = len(unique[0]) if unique else 0
        self._proper_prefixes = {s[:k] for s in unique for k in range(1, len(s))}
        self._pending = ""

    def extended(self, secrets: Iterable[str]) -> SecretMasker:
        """A masker for these secrets too, keeping the text held back so far."""
        more = SecretMasker([*self._secrets, *secrets], self._mask)
        more._pending = self._pending
        return more

    def mask(self, text: str) -> str:
        """Mask ``text`` in one go (no streaming state involved)."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda _: self._mask, text)

    def feed(self, text: str) -> str:
        """Add a chunk; return the part that is safe to emit now, already masked."""
        buffer = self._pending + text
        emitted: list[str] = []
        position = 0
        while True:
            hold = self._earliest_partial_secret(buffer, position)
            match = self._pattern.search(buffer, position) if self._pattern else None
            if match is None or match.start() >= hold:
                emitted.append(buffer[position:hold])
                self._pending = buffer[hold:]
                return "".join(emitted)
            emitted.append(buffer[position : match.start()])
            emitted.append(self._mask)
            position = match.end()

    def flush(self) -> str:
        """Return whatever was held back, masked, and reset the stream."""
        rest, self._pending = self._pending, ""
        return self.mask(rest)

    def _earliest_partial_secret(self, buffer: str, start: int) -> int:
        """First index from which the buffer's tail is an unfinished start of a secret.

        Text before it is final: no secret starting there can grow with more input.
        """
        first_candidate = max(start, len(buffer) - self._longest + 1)
        for index in range(first_candidate, len(buffer)):
            if buffer[index:] in self._proper_prefixes:
                return index
        return len(buffer)
