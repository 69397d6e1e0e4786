"""Values for the evaluation set's non-Faker sources: names and places from gimei's dictionaries,
numbers, phones, e-mails and IPs drawn by our own rules, and the look-alikes that must be kept.

gimei (MIT) ships its own name and address dictionaries (500 surnames, about 5,000 given names
with readings; 1,895 cities, 1,134 towns): a different name distribution from Faker's, so a
recognizer tuned on Faker values cannot pass by memory. Its `Gimei()` draws from the global
`random`; we read its dictionaries and draw with our own seeded `Random`, so the set is
reproducible. Nothing is downloaded: the dictionaries are in the wheel.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gimei.gimei import Gimei

from bench.pii_evalset import _digits, card_number, my_number

_NAMES = Gimei.NAMES
_PLACES = Gimei.ADDRESSES["addresses"]
KANJI_DIGITS = "〇一二三四五六七八九"
FULL_DIGITS = "０１２３４５６７８９"
# Old forms people keep in their names (髙橋, 﨑山, 齋藤, 渡邊): the registry spelling.
ITAIJI = {"高": "髙", "崎": "﨑", "斎": "齋", "辺": "邊", "沢": "澤", "浜": "濱"}

# Katakana to Hepburn romaji, for e-mail local parts built from a reading.
_KANA_ROMAJI = dict(zip(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
    "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポ",
    ["a", "i", "u", "e", "o", "ka", "ki", "ku", "ke", "ko", "sa", "shi", "su", "se", "so",
     "ta", "chi", "tsu", "te", "to", "na", "ni", "nu", "ne", "no", "ha", "hi", "fu", "he", "ho",
     "ma", "mi", "mu", "me", "mo", "ya", "yu", "yo", "ra", "ri", "ru", "re", "ro", "wa", "o",
     "n", "ga", "gi", "gu", "ge", "go", "za", "ji", "zu", "ze", "zo", "da", "ji", "zu", "de",
     "do", "ba", "bi", "bu", "be", "bo", "pa", "pi", "pu", "pe", "po"], strict=True))
_SMALL = {"ャ": "ya", "ュ": "yu", "ョ": "yo", "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o"}


def romaji(katakana: str) -> str:
    """Good-enough Hepburn for gimei readings: enough to make plausible e-mail local parts."""
    out: list[str] = []
    double = False
    for ch in katakana:
        if ch == "ッ":
            double = True
            continue
        if ch == "ー":
            continue
        if ch in _SMALL and out:  # キャ -> kya, シャ -> sha, ファ -> fa
            prev, small = out.pop(), _SMALL[ch]
            if prev in ("shi", "chi", "ji"):
                out.append(prev[:-1] + small[-1])
            elif small.startswith("y") and prev.endswith("i"):
                out.append(prev[:-1] + small)
            else:
                out.append(prev[:-1] + small[-1])
            continue
        syllable = _KANA_ROMAJI.get(ch, "")
        if double and syllable:
            syllable = syllable[0] + syllable
        double = False
        out.append(syllable)
    return "".join(out)


@dataclass(frozen=True)
class Person:
    last: str
    first: str
    last_hira: str
    first_hira: str
    last_kata: str
    first_kata: str

    def kanji(self, rng: random.Random) -> str:
        return rng.choice([f"{self.last} {self.first}", f"{self.last}{self.first}",
                           f"{self.last}\u3000{self.first}"])

    def katakana(self, rng: random.Random, dot: bool = False) -> str:
        joiner = "・" if dot else rng.choice([" ", "", "\u3000"])
        return f"{self.last_kata}{joiner}{self.first_kata}"

    def hiragana(self, rng: random.Random) -> str:
        return rng.choice([f"{self.last_hira} {self.first_hira}",
                           f"{self.last_hira}{self.first_hira}"])


def person(rng: random.Random) -> Person:
    last = rng.choice(_NAMES["last_name"])
    first = rng.choice(_NAMES["first_name"][rng.choice(("male", "female"))])
    surname = last[0]
    if rng.random() < 0.15:  # the registry spelling some people insist on
        surname = "".join(ITAIJI.get(ch, ch) for ch in surname)
    return Person(surname, first[0], last[1], first[1], last[2], first[2])


def email_for(rng: random.Random, who: Person | None = None) -> str:
    first, last = (romaji(who.first_kata), romaji(who.last_kata)) if who else ("", "")
    local = (rng.choice([first, f"{first}.{last}", f"{last[:1]}-{first}",
                         f"{last}{rng.randint(1, 99)}"])
             if who else rng.choice(["info", "support", "sales", "hr-desk", "k.tanaka", "office"]))
    domain = rng.choice(["example.jp", "example.co.jp", "mail.example.ne.jp", "example.com",
                         "docomo.ne.jp", "ezweb.ne.jp", "yahoo.co.jp", "gmail.com",
                         "i.softbank.jp", "abc-shoji.co.jp", "univ.example.ac.jp"])
    return f"{local}@{domain}"


def obfuscated_email(rng: random.Random, who: Person) -> str:
    local, domain = email_for(rng, who).split("@")
    return rng.choice([f"{local} [at] {domain}", f"{local}(at){domain}", f"{local} ＠ {domain}",
                       f"{local}＠{domain}", f"{local} at {domain}", f"{local}[at]{domain}",
                       f"{local}@{domain}".replace(".", " [dot] ")])


def unicode_email(rng: random.Random, who: Person) -> str:
    """RFC 6531 local parts: kanji, kana (what an internal mail system may allow)."""
    local = rng.choice([who.last, who.last + who.first, who.first_hira, "お問い合わせ", "総務"])
    return f"{local}@{rng.choice(['example.jp', 'example.co.jp', '例え.jp'])}"


def address(rng: random.Random, from_city: bool = False) -> str:
    pref = rng.choice(_PLACES["prefecture"])[0]
    city = rng.choice(_PLACES["city"])[0]
    town = rng.choice(_PLACES["town"])[0]
    block = rng.choice([
        f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
        f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号",
        f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}-{rng.randint(1, 20)}",
        f"{rng.randint(100, 3000)}番地",
        f"{rng.randint(1, 9)}－{rng.randint(1, 30)}－{rng.randint(1, 20)}",
    ])
    rooms = ["", "", "", f" {town[:2]}ハイツ{rng.randint(101, 512)}号室",
             f" グランドメゾン{rng.randint(2, 15)}F"]
    if block[-1].isdigit() and "番" not in block:  # "1-2-3-701": a room after a dashed block
        rooms.append(f"-{rng.randint(101, 1205)}")
    building = rng.choice(rooms)
    return f"{'' if from_city else pref}{city}{town}{block}{building}"


def postal_code(rng: random.Random) -> str:
    code = f"{rng.randint(100, 999)}-{_digits(rng, 4)}"
    return rng.choice([code, code, code.replace("-", "－"), code.translate(_TO_FULL)])


_TO_FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")
_TO_KANJI = str.maketrans("0123456789-", "〇一二三四五六七八九－")


def phone(rng: random.Random, mobile: bool | None = None) -> str:
    """A valid Japanese number in one of the ways people write them."""
    mobile = rng.random() < 0.5 if mobile is None else mobile
    if mobile:
        parts = [f"0{rng.choice('789')}0", _digits(rng, 4), _digits(rng, 4)]
    else:
        area = rng.choice(["03", "06", "011", "022", "045", "052", "075", "092", "0466", "0857",
                           "099", "050"])
        local = 10 - len(area)
        parts = ([area, _digits(rng, 4), _digits(rng, 4)] if area == "050" else
                 [area, str(rng.randint(2, 9)) + _digits(rng, local - 5), _digits(rng, 4)])
    style = rng.random()
    if style < 0.3:
        return "-".join(parts)
    if style < 0.45:
        return " ".join(parts)  # "03 1234 5678"
    if style < 0.6:
        return "-".join(parts).translate(_TO_FULL)  # "０９０－１２３４－５６７８"
    if style < 0.7:
        return " ".join(parts).translate(_TO_FULL)  # "０９０ １２３４ ５６７８"
    if style < 0.8:
        return "-".join(parts).translate(_TO_KANJI)  # "〇三－一二三四－五六七八"
    if style < 0.9:
        return f"({parts[0]}){parts[1]}-{parts[2]}"
    return "".join(parts)


def ipv4(rng: random.Random) -> str:
    """Private and public host addresses, with the documentation ranges among the public."""
    kind = rng.random()
    host = rng.randint(1, 254)
    if kind < 0.3:
        return f"192.168.{rng.randint(0, 255)}.{host}"
    if kind < 0.45:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{host}"
    if kind < 0.55:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{host}"
    if kind < 0.7:
        return f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{host}"
    first = rng.choice([n for n in range(1, 224) if n not in (10, 127, 172, 192)])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{host}"


BANKS = ("みずほ銀行", "三菱UFJ銀行", "三井住友銀行", "りそな銀行", "ゆうちょ銀行", "横浜銀行",
         "千葉銀行", "静岡銀行", "福岡銀行", "北海道銀行", "楽天銀行", "PayPay銀行", "〇〇信用金庫",
         "京都中央信用金庫", "JAバンク")
BRANCHES = ("新宿", "渋谷", "梅田", "名駅", "博多", "本店営業部", "丸の内", "札幌", "仙台中央",
            "横浜駅前", "四条", "天神", "〇一八", "第一営業部")


def account_pieces(rng: random.Random) -> list[tuple[str, str | None, str | None]]:
    """A bank, branch and deposit type in one of the real layouts, then the 7-digit number."""
    number = _digits(rng, 7)
    bank, branch = rng.choice(BANKS), rng.choice(BRANCHES)
    branch_word = "" if branch.endswith(("営業部", "本店")) else "支店"
    kind = rng.choice(["普通", "普通", "当座", "貯蓄"])
    head = f"{bank} {branch}{branch_word}"
    layout = rng.choice([
        f"{head}（{kind}）", f"{head} ({kind}) ", f"{head}【{kind}】", f"（{kind}）",
        f"{head} {kind}預金 口座番号 ", f"{head}\n{kind}預金 口座番号：", f"{head} 口座番号：",
        f"{head} {kind} No.", f"店番 {_digits(rng, 3)} 口座番号 ",
        f"店番：{_digits(rng, 3)}　{kind}　",
        f"{head}\n口座番号（{kind}）", f"預金種目：{kind}　口座番号：", f"{head} {kind}口座 ",
        f"{head}・{kind}・", f"{head} 口座No. ", f"{kind}預金　",
    ])
    return [(layout, None, None), (number, "JP_BANK_ACCOUNT", None)]


def jan_code(rng: random.Random) -> str:
    """A 13-digit JAN (EAN-13) with the Japanese prefixes 45/49 and a valid check digit."""
    base = rng.choice(["45", "49"]) + _digits(rng, 10)
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(base))
    return base + str((10 - total % 10) % 10)


def version(rng: random.Random) -> str:
    n = rng.randint
    return rng.choice([f"{n(1, 9)}.{n(0, 9)}.{n(0, 9)}.{n(0, 9)}",
                       f"v{n(1, 20)}.{n(0, 30)}.{n(0, 99)}",
                       f"{n(1, 12)}.{n(0, 30)}.{n(0, 99)}.{n(100, 9999)}",
                       f"Ver.{n(1, 9)}.{n(0, 9)}"])


def part_number(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return rng.choice([
        f"{rng.choice(letters)}{rng.choice(letters)}-{_digits(rng, 4)}-{_digits(rng, 2)}",
        f"KJ-{rng.randint(40, 85)}X{_digits(rng, 4)}H",
        f"{_digits(rng, 3)}-{_digits(rng, 4)}-{_digits(rng, 3)}",
        f"{rng.choice(letters)}{_digits(rng, 7)}",
    ])


def date(rng: random.Random) -> str:
    y, m, d = rng.randint(2000, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{y}年{m}月{d}日", f"{y}/{m:02d}/{d:02d}", f"{y}.{m:02d}.{d:02d}",
                       f"R{rng.randint(1, 9)}.{m}.{d}", f"{y}{m:02d}{d:02d}",
                       f"令和{rng.randint(1, 9)}年{m}月{d}日（{'月火水木金土日'[d % 7]}）"])


def price(rng: random.Random) -> str:
    return rng.choice([f"¥{rng.randint(100, 999_999):,}", f"{rng.randint(100, 9_999_999):,}円",
                       f"{rng.randint(1000, 9999999)}円（税込）", f"金{rng.randint(1, 999)}万円也",
                       f"{rng.randint(10, 9999)}.{rng.randint(0, 99):02d}ドル"])


MAN_REFS = ("ls(1)", "open(2)", "printf(3)", "proc(5)", "signal(7)", "mount(8)", "crontab(5)",
            "fstab(5)", "socket(7)", "man(1)", "sysctl.conf(5)", "ip(8)")


def man_reference(rng: random.Random) -> str:
    return rng.choice([rng.choice(MAN_REFS), f"セクション {rng.randint(1, 9)}.{rng.randint(1, 12)}",
                       f"RFC {rng.randint(791, 9999)}", f"POSIX.1-{rng.choice([2001, 2008, 2017])}",
                       f"ポート {rng.choice([22, 80, 443, 8080, 5432, 3306])}",
                       f"0{rng.randint(600, 777)} (8進)", f"errno {rng.randint(1, 133)}"])


def my_number_value(rng: random.Random) -> str:
    value = my_number(rng)
    return rng.choice([value, f"{value[:4]} {value[4:8]} {value[8:]}",
                       f"{value[:4]}-{value[4:8]}-{value[8:]}", value.translate(_TO_FULL)])


def card_value(rng: random.Random) -> str:
    return card_number(rng, grouped=rng.random() < 0.6)
