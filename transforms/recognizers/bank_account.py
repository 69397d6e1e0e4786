"""JP_BANK_ACCOUNT: a 7-digit account number after its deposit type, its label or its branch.

The span is the account number only: bank and branch names are not personal data.

Real layouts put one to three labels before the number, in any order, bracketed or not:
`普通 1234567`, `（当座）7654321`, `普通預金 口座番号：1234567`, `口座番号（普通）1234567`,
`口座No.1234567`, `預金種目：当座　番号：7654321`, `店番 123 口座番号 1234567`,
`〇〇銀行 △△支店（普通）1234567`. A 7-digit number right after a branch name (`新宿支店 1234567`)
is an account number too, but with a lower score: context words (口座, 銀行, 振込 …) lift it.
"""

from __future__ import annotations

from transforms.recognizers.base import NUM_END, JaPatternRecognizer

# A counter or currency after the digits makes them an amount ("普通預金 1234567円"), not a number
# that names an account.
_END = NUM_END + r"(?![円件人個回万千台株口])"

# Between labels and before the number: spaces, colons, the topic particle, list punctuation.
_SEP = r"[ :は・/／#＃]{0,3}"
_TYPE = r"(?:普通|当座|貯蓄|総合)(?:預金)?(?:口座)?"
_OPEN, _CLOSE = r"[(（【［\[〔]", r"[)）】］\]〕]"
# One label: a deposit type (bare or bracketed), 口座(番号), or 番号 / No. after another label.
_BRACKETED_TYPE = _OPEN + r" ?" + _TYPE + r" ?" + _CLOSE
_LABEL = r"(?:" + _BRACKETED_TYPE + r"|" + _TYPE + r"|口座(?:番号)?|No\.?|番号)"
# A branch code before the number ("店番 123 1234567", "支店番号：123-1234567").
_BRANCH_CODE = r"(?:店番号?|支店番号|支店コード)" + _SEP + r"\d{3}[ -・/]?" + r"(?:" + _SEP \
    + _LABEL + r"){0,3}"
# The first label must say "account" or "deposit type" on its own: a bare 番号 or No. is not.
_FIRST = r"(?:" + _BRACKETED_TYPE + r"|" + _TYPE + r"|口座(?:番号)?)"
_BRANCH = r"(?:支店|本店|営業部|出張所|支社)"


class JaBankAccountRecognizer(JaPatternRecognizer):
    ENTITY = "JP_BANK_ACCOUNT"
    PATTERNS = (
        (
            "account_after_labels",
            r"(?<=" + _FIRST + r"(?:" + _SEP + _LABEL + r"){0,3}" + _SEP + r")\d{7}" + _END,
            0.9,
        ),
        ("account_after_branch_code", r"(?<=" + _BRANCH_CODE + _SEP + r")\d{7}" + _END, 0.85),
        # "新宿支店 1234567": a branch, then the number with nothing that names it.
        ("account_after_branch", r"(?<=" + _BRANCH + r"[ :]{0,2})\d{7}" + _END, 0.6),
    )
    CONTEXT = ("口座", "普通", "当座", "銀行", "支店", "振込", "振り込み", "名義", "預金")
    TRIGGER = r"(?:普通|当座|貯蓄|総合|口座|店番|支店|本店|営業部|出張所|支社)[^\n]{0,20}?\d{7}"
