"""Labelled evaluation set for the PII stage, and its generator.

    .venv/bin/python -m bench.pii_evalset [--out bench/data/pii_eval.jsonl] [--seed 7]

Each line: {"id", "source", "text", "spans": [{"type", "start", "end"}],
"lookalikes": [{"kind", "start", "end"}]}. The sources, kept apart so the score can be read per
source (a recognizer tuned on one generator shows up as a gap between sources):
- "template": business-Japanese sentences from many templates, filled with Faker ja_JP values
  (phones repaired: about one in four lacks its leading 0), My Numbers, corporate numbers and
  card numbers generated with valid check digits, and look-alikes that must survive. Names also
  come where only the layout says "a name": with their kana reading in brackets, with rare given
  names (random name kanji) after labels, before honorifics and titles, in attendee lists and on
  their own line; addresses with Latin letters in town and building names; four-part versions
  and netmasks as look-alikes;
- "gimei-form" and "styled" (bench/pii_evalset_styled.py): other templates in other styles
  (forms; e-mails, minutes, invoices, chat logs) with gimei's names and places and the tricky
  layouts: bracketed account types, IPv4 in running text, kanji-numeral and spaced phones,
  obfuscated and RFC 6531 e-mails, JAN codes and other look-alikes;
- "hironsan" (bench/pii_evalset_hironsan.py): 500 real news sentences with hand-tagged names;
- "manpage+template": a template sentence planted inside a real man-page paragraph;
- "manpage": real paragraphs alone (chosen without @, long digit runs or 〒, so anything found
  in them is a false positive; their numbers are look-alikes of kind "manpage_number").

The man pages (../shared/data/manpages-ja.jsonl) exist on dev and CI machines only: without
them the two man-page sources are left out and the rest is generated as usual.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from faker import Faker
from stdnum import luhn
from stdnum.jp import cn, in_

MANPAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "manpages-ja.jsonl"
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "pii_eval.jsonl"

# {slot} -> (gold type or None, lookalike kind or None). PII slots name presidio entity types.
TEMPLATES: tuple[str, ...] = (
    "{person}様\nいつもお世話になっております。{company}の{person2}です。",
    "担当：{person}（携帯 {mobile}）までご連絡ください。",
    "お問い合わせは{phone}またはメール{email}までお願いいたします。",
    "ご請求先：〒{zip} {address} {company} 経理部 {person}様",
    "送付先住所は{address}です。郵便番号は{zip}となります。",
    "マイナンバー（個人番号）：{my_number}",
    "個人番号 {my_number_grouped} を提出してください。",
    "お振込先：{bank} {branch}支店 普通 {account}",
    "口座番号：{account}（当座ではなく普通預金です）",
    "運転免許証番号 {license} を確認しました。",
    "パスポート番号：{passport}、有効期限は{date}です。",
    "在留カード番号 {residence} の更新手続きについて",
    "保険者番号 {insurer} の被保険者証を回収しました。",
    "カード番号 {card} でお支払いいただきました。",
    "クレジットカード（{card_grouped}）の有効期限を更新してください。",
    "接続元IPは{ip}で、サーバー{ip2}へのアクセスを記録しました。",
    "メールは{email}です",
    "{person}さんの連絡先は{mobile}、自宅は{phone}です。",
    "{kana_person}様の登録住所：{address}",
    "人事部の{person}部長から{person2}さんへ連絡がありました。",
    "代表取締役 {person}\n{company}\n法人番号 {corporate}",
    "適格請求書発行事業者登録番号：T{corporate}",
    "TEL：{phone} FAX：{phone2}",
    "海外からは{intl}におかけください。",
    "フリーダイヤル {tollfree}（平日{time}〜18:00）",
    "{person}氏（{company}）が{date}に来社予定です。",
    "ご注文番号{order}の商品（品番{part}）は{price}です。",
    "バージョン{version}の変更点は ISBN {isbn} の書籍を参照。",
    "照合番号 {bad12} は{date}付けの記録です。",
    "{company}と{company2}の打ち合わせは{date} {time}から。",
    "見積書No.{order}：合計{price}（税込）、納期{date}",
    "{person}先生\n{company}の{person2}でございます。{date}の件、承知いたしました。",
    "申請者氏名：{person} 電話番号：{mobile} メール：{email}",
    "〒{zip}\n{address}\n{person} 様",
    "{person}君、{time}に会議室へ来てください。",
    "お客様番号{bad12}、型番{part}、{price}",
    # Names where the layout, not UniDic, says "a name": readings in brackets, rare given
    # names after labels, before honorifics and titles, in attendee lists, on their own line.
    "――――――――\n{company} {dept}\n{person_reading}\n〒{zip} {address}\nTEL：{phone}",
    "お客様：{person_reading}\n連絡先：{phone}",
    "振込先：{bank} {branch}支店 普通 {account} 口座名義 {kana_reading}",
    "{company}（以下「甲」という。）と{rare_person}（以下「乙」という。）は、次のとおり契約する。",
    "記録：{rare_person}\n\n1. 新製品の販売計画について",
    "{company}\n{dept} {rare_person}様\n\n突然のご連絡失礼いたします。",
    "出席者：{person}氏、{rare_person}、{person2}さん",
    "乙　〒{zip} {ascii_address}\n　　{rare_person_spaced}\n　　電話 {mobile}",
    "ご住所：〒{zip} {ascii_address}",
    "本件の問い合わせ先：{rare_person}（内線{ext}、携帯{mobile}）",
    "{rare_person}リーダーから進捗の報告があった。",
    "フリガナ：{kana_reading}\n氏名：{person}",
    # Four-part versions and netmasks: dotted quads that are not anybody's address.
    "バージョン {version4} にアップデートし、ネットマスク {netmask} を設定した。",
    "{version4} というリビジョンで修正済みです。",
)

DEPARTMENTS = ("営業部", "経理部", "法務部", "人事部", "総務課", "情報システム部", "物流管理課",
               "カスタマーサポート部", "マーケティング部", "製造部")
# Kanji of recent given names, paired at random: names UniDic and the name lists mostly lack.
NAME_KANJI = "陽葵凛蒼湊颯翠碧紬澪雫凪朔煌琉瑛芽依結柚七夏零心晴律嶺楓暖詩絃燈"
# Building names with Latin letters, ASCII or full-width (丸の内ＪＰタワー, as Faker has one).
LATIN_BUILDINGS = ("JPタワー", "ＡＢＣビル", "NTTビル", "Kハイツ", "ＭＭパークビル", "SKYコート",
                   "丸の内ＪＰタワー")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def my_number(rng: random.Random) -> str:
    base = str(rng.randint(1, 9)) + _digits(rng, 10)
    return base + in_.calc_check_digit(base)


def bad_my_number(rng: random.Random) -> str:
    """12 digits whose check digit is wrong: a look-alike."""
    while True:
        value = str(rng.randint(1, 9)) + _digits(rng, 11)
        if not in_.is_valid(value):
            return value


def corporate_number(rng: random.Random) -> str:
    base = str(rng.randint(1, 9)) + _digits(rng, 11)
    return cn.calc_check_digit(base) + base


def card_number(rng: random.Random, grouped: bool) -> str:
    prefix, length = rng.choice([("4", 16), ("5", 16), ("35", 16), ("37", 15), ("36", 14)])
    if prefix == "5":
        prefix = str(rng.randint(51, 55))
    base = prefix + _digits(rng, length - len(prefix) - 1)
    number = base + luhn.calc_check_digit(base)
    if not grouped:
        return number
    sep = rng.choice(["-", " "])
    if length == 16:
        return sep.join(number[i : i + 4] for i in range(0, 16, 4))
    return sep.join((number[:4], number[4:10], number[10:]))


def fix_phone(raw: str) -> str:
    """Faker ja_JP drops the leading 0 of about one phone in four."""
    return raw if raw.startswith("0") else "0" + raw


def styled_phone(rng: random.Random, number: str) -> str:
    digits = number.replace("-", "")
    parts = number.split("-")
    style = rng.random()
    if style < 0.55:
        return number
    if style < 0.7:
        return " ".join(parts)
    if style < 0.85 and len(parts) == 3:
        return f"({parts[0]}){parts[1]}-{parts[2]}"
    if style < 0.93 and len(parts) == 3:
        return f"{parts[0]}({parts[1]}){parts[2]}"
    return digits if digits.startswith(("070", "080", "090")) else number


Piece = tuple[str, str | None, str | None]  # (text, gold type, look-alike kind)


def make_slots(fake: Faker, rng: random.Random) -> dict[str, Callable[[], Piece | list[Piece]]]:
    def pii(kind: str, fn: Callable[[], str]):
        return lambda: (fn(), kind, None)

    def look(kind: str, fn: Callable[[], str]):
        return lambda: (fn(), None, kind)

    def person() -> str:
        last, first = fake.last_name(), fake.first_name()
        return rng.choice([f"{last}{first}", f"{last} {first}", f"{last}"])

    def kana_person() -> str:
        return rng.choice([f"{fake.last_kana_name()} {fake.first_kana_name()}",
                           f"{fake.last_kana_name()}{fake.first_kana_name()}"])

    def rare_given() -> str:
        return "".join(rng.sample(NAME_KANJI, rng.choice((1, 2, 2))))

    def rare_person(spaced: bool | None = None) -> str:
        spaced = rng.random() < 0.5 if spaced is None else spaced
        return f"{fake.last_name()}{' ' if spaced else ''}{rare_given()}"

    def reading(last_kana: str, first_kana: str) -> str:
        kana = rng.choice([f"{last_kana} {first_kana}", f"{last_kana}{first_kana}",
                           f"{last_kana}　{first_kana}"])
        if rng.random() < 0.25:  # hiragana readings (ふりがな) too
            kana = "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in kana)
        return kana

    def person_reading() -> list[Piece]:
        last, last_kana, _ = fake.last_name_pair()
        first, first_kana, _ = fake.first_name_pair()
        if rng.random() < 0.3:
            first = rare_given()
        name = rng.choice([f"{last} {first}", f"{last}{first}"])
        honorific = rng.choice(["", "", "様", "さん"])
        opening, closing = rng.choice([("（", "）"), ("(", ")"), (" (", ")")])
        return [(name, "PERSON", None), (honorific + opening, None, None),
                (reading(last_kana, first_kana), "PERSON", None), (closing, None, None)]

    def kana_reading() -> str:
        _, last_kana, _ = fake.last_name_pair()
        _, first_kana, _ = fake.first_name_pair()
        return reading(last_kana, first_kana)

    def ascii_address() -> str:
        block = f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
        building = f" {rng.choice(LATIN_BUILDINGS)}{rng.randint(101, 1208)}"
        town = fake.town()
        if rng.random() < 0.5:
            town, building = town + rng.choice(LATIN_BUILDINGS), building if rng.random() < 0.5 \
                else ""
        return f"{fake.prefecture()}{fake.city()}{town}{block}{building}"

    def version4() -> str:
        return rng.choice([f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}."
                           f"{rng.randint(0, 9)}",
                           f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}."
                           f"{rng.randint(0, 9999)}"])

    def netmask() -> str:
        return rng.choice(["255.255.255.0", "255.255.0.0", "255.255.255.128", "255.255.255.224",
                           "255.0.0.0", "255.255.255.255"])

    def mobile() -> str:
        return styled_phone(rng, f"0{rng.choice('789')}0-{_digits(rng, 4)}-{_digits(rng, 4)}")

    def intl() -> str:
        local = fix_phone(fake.phone_number()).replace("-", "")
        return rng.choice(["+81-", "+81 ", "+81"]) + local[1:3] + "-" + local[3:7] + "-" + \
            local[7:] if len(local) == 11 else "+81-3-" + _digits(rng, 4) + "-" + _digits(rng, 4)

    def tollfree() -> str:
        return rng.choice([f"0120-{_digits(rng, 3)}-{_digits(rng, 3)}",
                           f"0800-{_digits(rng, 3)}-{_digits(rng, 4)}",
                           f"0570-{_digits(rng, 3)}-{_digits(rng, 3)}"])

    def ip() -> str:
        return fake.ipv4() if rng.random() < 0.85 else fake.ipv6()

    def passport() -> str:
        return rng.choice(["TK", "TR", "TZ", "MU", "RZ"]) + _digits(rng, 7)

    def residence() -> str:
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        return (rng.choice(letters) + rng.choice(letters) + _digits(rng, 8)
                + rng.choice(letters) + rng.choice(letters))

    def order() -> str:
        return rng.choice([f"ORD-{_digits(rng, 8)}-{_digits(rng, 4)}", f"A{_digits(rng, 9)}",
                           f"{_digits(rng, 4)}-{_digits(rng, 4)}-{_digits(rng, 2)}X"])

    def part() -> str:
        return rng.choice([f"PN-{_digits(rng, 4)}-{_digits(rng, 3)}", f"KX{_digits(rng, 5)}",
                           f"{rng.randint(10, 99)}-{_digits(rng, 4)}-{_digits(rng, 4)}A"])

    def date() -> str:
        y, m, d = rng.randint(2015, 2030), rng.randint(1, 12), rng.randint(1, 28)
        return rng.choice([f"{y}年{m}月{d}日", f"{y}/{m:02d}/{d:02d}", f"{y}-{m:02d}-{d:02d}",
                           f"令和{rng.randint(1, 9)}年{m}月{d}日"])

    def time_() -> str:
        return rng.choice([f"{rng.randint(8, 20)}:{rng.choice(['00', '15', '30', '45'])}",
                           f"{rng.randint(1, 12)}時{rng.choice(['', '半', '30分'])}"])

    def price() -> str:
        return rng.choice([f"{rng.randint(100, 9_999_999):,}円", f"¥{rng.randint(100, 99999):,}",
                           f"{rng.randint(1, 999)}万円"])

    def version() -> str:
        return f"{rng.randint(0, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"

    def isbn() -> str:
        return f"978-4-{_digits(rng, 4)}-{_digits(rng, 4)}-{rng.randint(0, 9)}"

    return {
        "person": pii("PERSON", person),
        "person2": pii("PERSON", person),
        "kana_person": pii("PERSON", kana_person),
        "mobile": pii("PHONE_NUMBER", mobile),
        "phone": pii("PHONE_NUMBER", lambda: styled_phone(rng, fix_phone(fake.phone_number()))),
        "phone2": pii("PHONE_NUMBER", lambda: fix_phone(fake.phone_number())),
        "intl": pii("PHONE_NUMBER", intl),
        "tollfree": pii("PHONE_NUMBER", tollfree),
        "email": pii("EMAIL_ADDRESS", fake.email),
        "address": pii("JP_ADDRESS", fake.address),
        "zip": pii("JP_POSTAL_CODE", fake.zipcode),
        "my_number": pii("JP_MY_NUMBER", lambda: my_number(rng)),
        "my_number_grouped": pii(
            "JP_MY_NUMBER", lambda: " ".join(re.findall(r"\d{4}", my_number(rng)))),
        "account": pii("JP_BANK_ACCOUNT", lambda: _digits(rng, 7)),
        "license": pii("JP_DRIVER_LICENSE", lambda: str(rng.randint(10, 99)) + _digits(rng, 10)),
        "passport": pii("JP_PASSPORT", passport),
        "residence": pii("JP_RESIDENCE_CARD", residence),
        "insurer": pii("JP_HEALTH_INSURANCE", lambda: "0" + _digits(rng, 7)),
        "card": pii("CREDIT_CARD", lambda: card_number(rng, grouped=False)),
        "card_grouped": pii("CREDIT_CARD", lambda: card_number(rng, grouped=True)),
        "ip": pii("IP_ADDRESS", ip),
        "ip2": pii("IP_ADDRESS", fake.ipv4),
        "corporate": pii("JP_CORPORATE_NUMBER", lambda: corporate_number(rng)),
        "company": look("company", fake.company),
        "company2": look("company", fake.company),
        "bank": lambda: (rng.choice(["みずほ銀行", "りそな銀行", "静岡銀行"]), None, None),
        "branch": lambda: (rng.choice(["新宿", "梅田", "名駅", "博多", "本店営業部"]), None, None),
        "order": look("order_number", order),
        "part": look("part_number", part),
        "date": look("date", date),
        "time": look("time", time_),
        "price": look("price", price),
        "version": look("version", version),
        "isbn": look("isbn", isbn),
        "bad12": look("bad_check_digit_12", lambda: bad_my_number(rng)),
        "person_reading": person_reading,
        "kana_reading": pii("PERSON", kana_reading),
        "rare_person": pii("PERSON", rare_person),
        "rare_person_spaced": pii("PERSON", lambda: rare_person(spaced=True)),
        "ascii_address": pii("JP_ADDRESS", ascii_address),
        "dept": lambda: (rng.choice(DEPARTMENTS), None, None),
        "ext": look("extension", lambda: str(rng.randint(1000, 8999))),
        "version4": look("version", version4),
        "netmask": look("netmask", netmask),
    }


def fill(template: str, slots) -> tuple[str, list[dict], list[dict]]:
    text, spans, looks = "", [], []
    for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
        text += literal
        if not name:
            continue
        drawn = slots[name]()
        for value, kind, look in drawn if isinstance(drawn, list) else [drawn]:
            if kind:
                spans.append({"type": kind, "start": len(text), "end": len(text) + len(value)})
            if look:
                looks.append({"kind": look, "start": len(text), "end": len(text) + len(value)})
            text += value
    return text, spans, looks


# Numbers in man-page prose (sections, sizes, modes, versions): kept, whatever they look like.
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_UNSAFE = re.compile(r"@|〒|\d{7,}|\d+\.\d+\.\d+\.\d+|\d{2,4}-\d{2,4}-\d{3,4}")


def real_paragraphs(rng: random.Random, count: int) -> list[str]:
    pool = []
    with MANPAGES.open(encoding="utf-8") as fh:
        for line in fh:
            for para in json.loads(line)["text"].split("\n\n"):
                if 80 <= len(para) <= 600 and not _UNSAFE.search(para):
                    pool.append(para)
    return rng.sample(pool, min(count, len(pool)))


def generate(seed: int = 7, per_template: int = 12, manpage_count: int = 300) -> list[dict]:
    rng = random.Random(seed)
    Faker.seed(seed)
    fake = Faker("ja_JP")
    slots = make_slots(fake, rng)
    items = []
    for t_index, template in enumerate(TEMPLATES):
        for k in range(per_template):
            text, spans, looks = fill(template, slots)
            items.append({"id": f"t{t_index}-{k}", "source": "template", "text": text,
                          "spans": spans, "lookalikes": looks})
    paragraphs = real_paragraphs(rng, manpage_count) if MANPAGES.is_file() else []
    for p_index, para in enumerate(paragraphs):
        if p_index % 2:
            numbers = [{"kind": "manpage_number", "start": m.start(), "end": m.end()}
                       for m in _NUMBER.finditer(para)]
            items.append({"id": f"m{p_index}", "source": "manpage", "text": para, "spans": [],
                          "lookalikes": numbers})
            continue
        text, spans, looks = fill(rng.choice(TEMPLATES), slots)
        cut = para.find("。") + 1 or len(para)
        head, tail = para[:cut] + "\n", "\n" + para[cut:]
        shift = len(head)
        for span in (*spans, *looks):
            span["start"] += shift
            span["end"] += shift
        items.append({"id": f"mt{p_index}", "source": "manpage+template",
                      "text": head + text + tail, "spans": spans, "lookalikes": looks})
    # Imported here: these modules build on this one's helpers (fill, number generators).
    from bench import pii_evalset_hironsan, pii_evalset_styled

    items.extend(pii_evalset_styled.generate(seed))
    items.extend(pii_evalset_hironsan.generate())
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the PII evaluation set.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    items = generate(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    spans = sum(len(i["spans"]) for i in items)
    looks = sum(len(i["lookalikes"]) for i in items)
    print(f"{len(items)} items, {spans} PII spans, {looks} look-alikes -> {args.out}")


if __name__ == "__main__":
    main()
