"""Check digits of Japanese identifiers, and the Luhn check of payment cards.

Used by the PII recognizers to tell a real identifier from a look-alike number, and by the demo
corpus to plant valid ones. Each takes and returns digit strings.
"""

from __future__ import annotations


def my_number_check_digit(base11: str) -> str:
    """Check digit of an 11-digit My Number (個人番号) base.

    P_n is the n-th digit from the right; Q_n = n + 1 for n <= 6, n - 5 for n >= 7;
    r = sum(P_n * Q_n) mod 11; the digit is 0 when r <= 1, else 11 - r.
    """
    if len(base11) != 11 or not base11.isascii() or not base11.isdigit():
        raise ValueError("a My Number base is 11 ASCII digits")
    total = 0
    for n, ch in enumerate(reversed(base11), start=1):
        q = n + 1 if n <= 6 else n - 5
        total += int(ch) * q
    r = total % 11
    return "0" if r <= 1 else str(11 - r)


def is_valid_my_number(digits: str) -> bool:
    return (
        len(digits) == 12
        and digits.isascii()
        and digits.isdigit()
        and my_number_check_digit(digits[:11]) == digits[11]
    )


def corporate_number_check_digit(base12: str) -> str:
    """Leading check digit of a 13-digit corporate number (法人番号).

    P_n is the n-th digit from the right of the 12-digit base; Q_n = 1 for odd n, 2 for even n;
    the digit is 9 - (sum(P_n * Q_n) mod 9).
    """
    if len(base12) != 12 or not base12.isascii() or not base12.isdigit():
        raise ValueError("a corporate number base is 12 ASCII digits")
    total = sum(int(ch) * (1 if n % 2 else 2) for n, ch in enumerate(reversed(base12), start=1))
    return str(9 - total % 9)


def is_valid_corporate_number(digits: str) -> bool:
    return (
        len(digits) == 13
        and digits.isascii()
        and digits.isdigit()
        and corporate_number_check_digit(digits[1:]) == digits[0]
    )


def luhn_check_digit(base: str) -> str:
    """The digit that makes `base + digit` pass the Luhn check."""
    if not base or not base.isascii() or not base.isdigit():
        raise ValueError("a card number base is ASCII digits")
    total = 0
    for i, ch in enumerate(reversed(base)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_luhn(digits: str) -> bool:
    return (
        len(digits) >= 2
        and digits.isascii()
        and digits.isdigit()
        and luhn_check_digit(digits[:-1]) == digits[-1]
    )
