"""The shared machinery of the document templates: picking sentences, dates and people.

A template module builds one document with a `Composer`: it draws values, fills sentence
templates with `str.format_map`, and files every personal value it writes with `plant`. Only
values that end up in the text are kept, so the planted list is exactly what a leak scan must
not find in the shards.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pipelines.democorpus.pii import Person, PiiFactory

T = TypeVar("T")

# Dates are drawn around a fixed day, never from the clock, so every run writes the same bytes.
_BASE_DAY = dt.date(2023, 4, 3)
_WEEKDAYS = "月火水木金土日"
HONORIFICS: tuple[str, ...] = ("様", "さん", "氏")


@dataclass(frozen=True)
class Draft:
    """One generated document before it is placed in a file.

    `pii` holds (kind, value) pairs in order of first appearance, each value a substring of
    `text`.
    """

    kind: str
    title: str
    text: str
    pii: tuple[tuple[str, str], ...]


class Composer:
    def __init__(self, rng: random.Random, pii: PiiFactory) -> None:
        self.rng = rng
        self.pii = pii
        self._planted: list[tuple[str, str]] = []

    # --- choices -------------------------------------------------------------------------
    def pick(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def some(self, options: Sequence[T], low: int, high: int) -> list[T]:
        """Between `low` and `high` distinct options, in their written order (so text flows)."""
        count = min(len(options), self.rng.randint(low, high))
        chosen = sorted(self.rng.sample(range(len(options)), count))
        return [options[i] for i in chosen]

    def number(self, low: int, high: int) -> str:
        return str(self.rng.randint(low, high))

    def fill(self, templates: Sequence[str], ctx: Mapping[str, str]) -> str:
        return "".join(t.format_map(ctx) for t in templates)

    def date(self, spread_days: int = 900) -> dt.date:
        return _BASE_DAY + dt.timedelta(days=self.rng.randrange(spread_days))

    @staticmethod
    def ja_date(day: dt.date, weekday: bool = False) -> str:
        text = f"{day.year}年{day.month}月{day.day}日"
        return text + f"（{_WEEKDAYS[day.weekday()]}）" if weekday else text

    def time(self, first_hour: int = 9, last_hour: int = 17) -> str:
        return f"{self.rng.randint(first_hour, last_hour)}:{self.pick(('00', '15', '30', '45'))}"

    # --- personal values -----------------------------------------------------------------
    def begin(self) -> None:
        self._planted = []

    def plant(self, kind: str, value: str) -> str:
        self._planted.append((kind, value))
        return value

    def name(self, person: Person, style: str | None = None) -> str:
        """A person's name as written: kanji with or without a space, or katakana."""
        style = style or self.pick(("spaced", "spaced", "tight", "kana"))
        return self.plant("person_name", getattr(person, style))

    def honored(self, person: Person, honorific: str | None = None) -> str:
        return self.name(person, self.pick(("spaced", "tight"))) + (
            honorific or self.pick(HONORIFICS))

    def finish(self, kind: str, title: str, text: str) -> Draft:
        seen: dict[tuple[str, str], None] = {}
        for item in self._planted:
            if item[1] in text:
                seen[item] = None
        return Draft(kind, title, text, tuple(seen))
