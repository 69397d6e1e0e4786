"""EMAIL_ADDRESS: addresses bounded by ASCII look-arounds (so `メールはtaro@example.jpです` works).

No tldextract: its suffix-list download is a network call, and the pattern's TLD shape suffices.
"""

from __future__ import annotations

from transforms.recognizers.base import JaPatternRecognizer

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


class JaEmailRecognizer(JaPatternRecognizer):
    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (
        (
            "email",
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
            + rf"(?:{_LABEL}\.)+[A-Za-z]{{2,24}}(?![A-Za-z0-9-])",
            0.95,
        ),
    )
    CONTEXT = ("メール", "mail", "アドレス", "連絡")
    TRIGGER = r"[A-Za-z0-9]@[A-Za-z0-9]"
