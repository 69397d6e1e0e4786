"""JP_BANK_ACCOUNT: a 7-digit account number after 普通/当座 (deposit type) or 口座番号.

The span is the account number only: bank and branch names are not personal data.
"""

from __future__ import annotations

from transforms.recognizers.base import NUM_END, JaPatternRecognizer

_SEP = r"[ :は]{0,3}"


class JaBankAccountRecognizer(JaPatternRecognizer):
    ENTITY = "JP_BANK_ACCOUNT"
    PATTERNS = (
        (
            "account_after_type",
            r"(?<=(?:普通|当座|貯蓄)(?:預金)?(?:口座)?" + _SEP + r"(?:口座番号)?" + _SEP
            + r"(?:No\.?)?" + _SEP + r")\d{7}" + NUM_END,
            0.9,
        ),
        ("account_after_label", r"(?<=口座番号" + _SEP + r")\d{7}" + NUM_END, 0.85),
    )
    CONTEXT = ("口座", "普通", "当座", "銀行", "支店", "振込", "振り込み")
    TRIGGER = r"(?:普通|当座|貯蓄|口座番号)[^\n]{0,12}?\d{7}"
