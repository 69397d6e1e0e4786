"""Personal data of many Japanese kinds, made up for the demo corpus.

Faker's `ja_JP` locale gives names, addresses, postal codes, phones and e-mails; the identifiers it
lacks (My Number, corporate number, bank account, card, driver's licence) are generated here with
valid check digits, so the PII recognizers' checks have something real to confirm.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from faker import Faker
from stdnum import luhn
from stdnum.jp import cn, in_

# The kinds a planted value is filed under (DemoCorpus.pii_by_kind keys).
PII_KINDS: tuple[str, ...] = (
    "person_name",
    "phone",
    "postal_code",
    "address",
    "email",
    "ip_address",
    "my_number",
    "corporate_number",
    "bank_account",
    "credit_card",
    "drivers_license",
)

_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")

BANKS: tuple[str, ...] = (
    "みずほ銀行", "三菱UFJ銀行", "三井住友銀行", "りそな銀行", "横浜銀行", "千葉銀行",
    "静岡銀行", "京都銀行", "福岡銀行", "北洋銀行", "七十七銀行", "広島銀行",
)
BRANCHES: tuple[str, ...] = (
    "渋谷", "新宿", "池袋", "丸の内", "梅田", "難波", "名古屋駅前", "博多", "札幌", "仙台",
    "横浜駅前", "京都四条", "神戸", "大宮", "千葉", "金沢",
)
ACCOUNT_TYPES: tuple[str, ...] = ("普通", "普通", "普通", "当座")
# Card issuer prefixes (IIN) with their lengths: Visa, Mastercard, JCB and American Express.
_CARD_PREFIXES: tuple[tuple[tuple[str, ...], int], ...] = (
    (("4",), 16),
    (("51", "52", "53", "54", "55"), 16),
    (tuple(str(n) for n in range(3528, 3590)), 16),
    (("34", "37"), 15),
)
_MAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.jp", "example.ne.jp", "example.net")
_LICENCE_PREFIXES: tuple[str, ...] = ("30", "45", "50", "62", "10", "40", "54", "72")


@dataclass(frozen=True)
class Person:
    last: str
    first: str
    last_kana: str
    first_kana: str
    last_roman: str
    first_roman: str

    @property
    def spaced(self) -> str:
        return f"{self.last} {self.first}"

    @property
    def tight(self) -> str:
        return f"{self.last}{self.first}"

    @property
    def kana(self) -> str:
        return f"{self.last_kana} {self.first_kana}"


def fullwidth(value: str) -> str:
    """Digits and hyphens to full-width, as legacy forms and hand-typed records often have them."""
    return value.translate(_FULLWIDTH)


def fix_faker_phone(number: str) -> str:
    """Repair Faker ja_JP's `##-####-####` phones (about one in four lacks the trunk 0).

    The pattern can only be a two-digit area code, and only 03, 04 and 06 exist; anything else
    (`34-…`, `07-…`) is mapped onto one of them, so every fixed number is plausible.
    """
    area, rest = number.split("-", 1)
    if len(area) != 2 or area in ("03", "04", "06"):
        return number
    return f"0{'346'[int(area[1]) % 3]}-{rest}"


class PiiFactory:
    """Draws personal values from one seeded Faker and one seeded `random.Random`."""

    def __init__(self, fake: Faker, rng: random.Random) -> None:
        self._fake = fake
        self._rng = rng

    def _digits(self, count: int) -> str:
        return "".join(str(self._rng.randrange(10)) for _ in range(count))

    def _maybe_wide(self, value: str, share: float = 0.15) -> str:
        return fullwidth(value) if self._rng.random() < share else value

    def person(self) -> Person:
        last, last_kana, last_roman = self._fake.last_name_pair()
        first, first_kana, first_roman = self._fake.first_name_pair()
        return Person(last, first, last_kana, first_kana, last_roman, first_roman)

    def company(self) -> str:
        return self._fake.company()

    def phone(self, kind: str) -> str:
        """`mobile`, `fixed` (Faker's, repaired), `tollfree` or `intl` (+81)."""
        rng = self._rng
        if kind == "mobile":
            value = f"{rng.choice(('070', '080', '090'))}-{self._digits(4)}-{self._digits(4)}"
        elif kind == "fixed":
            value = fix_faker_phone(self._fake.phone_number())
            while not value.startswith("0") or value[:3] in ("070", "080", "090"):
                value = fix_faker_phone(self._fake.phone_number())
        elif kind == "tollfree":
            value = rng.choice((f"0120-{self._digits(3)}-{self._digits(3)}",
                                f"0800-{self._digits(3)}-{self._digits(4)}"))
        elif kind == "intl":
            area = rng.choice(("90", "80", "3", "6", "45"))
            national = f"{area}-{self._digits(4)}-{self._digits(4)}"
            return rng.choice((f"+81-{national}", f"+81 {national.replace('-', ' ')}"))
        else:
            raise ValueError(f"unknown phone kind {kind!r}")
        return self._maybe_wide(value)

    def postal_code(self) -> str:
        return self._maybe_wide(self._fake.postcode())

    def address(self) -> str:
        return self._fake.address()

    def email(self, person: Person | None = None, domain: str | None = None) -> str:
        if person is None:
            local = self._fake.user_name()
        else:
            local = self._rng.choice((
                f"{person.first_roman}.{person.last_roman}",
                f"{person.first_roman[0]}.{person.last_roman}",
                f"{person.last_roman}-{person.first_roman[0]}",
                f"{person.last_roman}{self._rng.randrange(1, 99)}",
            )).lower()
        # Reserved example domains only: a made-up mailbox at a real provider could exist.
        return f"{local}@{domain or self._rng.choice(_MAIL_DOMAINS)}"

    def ip_address(self) -> str:
        return self._fake.ipv4_public() if self._rng.random() < 0.6 else self._fake.ipv4_private()

    def my_number(self) -> str:
        base = str(self._rng.randrange(1, 10)) + self._digits(10)
        digits = base + in_.calc_check_digit(base)
        style = self._rng.random()
        if style < 0.4:
            return digits
        if style < 0.8:
            return f"{digits[:4]} {digits[4:8]} {digits[8:]}"
        return fullwidth(f"{digits[:4]}-{digits[4:8]}-{digits[8:]}")

    def corporate_number(self) -> str:
        base = self._digits(12)
        return cn.calc_check_digit(base) + base

    def bank_account(self) -> tuple[str, str, str, str]:
        """(bank, branch, account type, 7-digit account number)."""
        rng = self._rng
        number = self._maybe_wide(str(rng.randrange(1, 10)) + self._digits(6), share=0.1)
        return (rng.choice(BANKS), rng.choice(BRANCHES), rng.choice(ACCOUNT_TYPES), number)

    def credit_card(self) -> str:
        prefixes, length = self._rng.choice(_CARD_PREFIXES)
        prefix = self._rng.choice(prefixes)
        base = prefix + self._digits(length - 1 - len(prefix))
        digits = base + luhn.calc_check_digit(base)
        sep = self._rng.choice(("-", " ", ""))
        if length == 15:
            return sep.join((digits[:4], digits[4:10], digits[10:]))
        return sep.join(digits[i:i + 4] for i in range(0, 16, 4))

    def drivers_license(self) -> str:
        """12 digits: prefecture code, year of first licence, serial, check and reissue digits.

        The check digit's rule is not published, so it is drawn like the rest: a soft signal.
        """
        year = f"{self._rng.randrange(0, 100):02d}"
        return self._maybe_wide(self._rng.choice(_LICENCE_PREFIXES) + year + self._digits(7) +
                                str(self._rng.randrange(0, 3)), share=0.1)
