"""Two template sources written apart from the Faker templates, in other people's styles.

- "gimei-form": labelled forms (HR, membership, delivery, questionnaires) filled with gimei's
  names and places: kanji, hiragana and katakana names, addresses with and without their
  prefecture, grouped and full-width numbers;
- "styled": e-mails, minutes, invoices, chat logs and notices in the layouts recognizers are
  rarely written against: bracketed account types, IPv4 in running text, kanji-numeral and
  spaced-digit phones, obfuscated and RFC 6531 e-mails, katakana and `・`-joined names, names
  before titles (髙橋部長), addresses starting at the city, `name <email>`; and the look-alikes
  that must be kept there (JAN codes, versions, part numbers, dates, prices, man-page numbers).

Gold conventions follow the Faker source: a name's span excludes honorifics and titles, a reading
in brackets is its own span, an obfuscated e-mail is one span from the local part to the domain.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench import pii_evalset_values as v
from bench.pii_evalset import Piece, _digits, fill

Slot = Callable[[], Piece | list[Piece]]

FORM_TEMPLATES: tuple[str, ...] = (
    "【入社手続き書類】\n氏名（漢字）：{name}\n氏名（カナ）：{kata}\n生年月日：{date}\n"
    "現住所：〒{zip} {address}\n携帯電話：{phone}\n個人番号：{my_number}",
    "会員登録ありがとうございます。\nお名前：{name} 様\nフリガナ：{kata}\nご住所：{address}\n"
    "メールアドレス：{email}",
    "お届け先\n{address_city}\n{name} 様\nTEL {phone}",
    "アンケート回答者：{hira}（{age}歳）\n住所：{address}\n電話：{phone}",
    "【変更届】旧住所：{address}\n新住所：{address_city}\n届出人：{name}",
    "氏名 {name}\nふりがな {hira}\n連絡先 {phone}\nE-mail {email}",
    "緊急連絡先：{name}（続柄：父）{phone}",
    "給与振込口座\n{account}\n口座名義：{kata}",
    "保護者氏名：{name}\n児童氏名：{given_only}\n住所：{address_city}",
    "{name}さんの登録情報を更新しました（郵便番号 {zip}、電話 {phone}）。",
    "受付番号 {order}　申請者 {name}　{date}受付",
    "ご本人確認：{name} 様、生年月日 {date}、クレジットカード {card}",
)

STYLED_TEMPLATES: tuple[str, ...] = (
    # E-mails: signature blocks, bank details, name <address>.
    "{company}\n{dept}\n{name}様\n\nいつもお世話になっております。{own}の{last}です。\n"
    "下記口座へお振込みをお願いいたします。\n\n{account}\n\n"
    "――――――――――――\n{own} {dept}\n{name2}\nTEL：{phone}\nMail：{email}\n――――――――――――",
    "From: {name_email}\nTo: {name_email2}\nSubject: 月次報告\n\n"
    "{last}さん\n添付をご確認ください。",
    "差出人：{name_email}\n{last_title}、ご確認お願いします。",
    "連絡先はこちら：{email_obf}（スパム対策のため@を置き換えています）",
    "問い合わせ窓口 {email_obf} / 電話 {phone}",
    "社内メール {email_utf8} 宛に送付してください。",
    "{kata_dot}様\nご注文ありがとうございます。お問い合わせは{email}まで。",
    # Minutes and reports: lists of names, titles, servers.
    "議事録 {date}\n出席者：{last_title}、{name}、{kata_dot}、{last2}さん\n記録：{last3}\n\n"
    "1. サーバー移行\n旧サーバー({ip})から新サーバー({ip2})へ移行する。",
    "{last_title}より：検証環境のIPアドレスは{ip}です。本番は{ip2}に切り替え済み。",
    "障害報告：{date} {time}頃、{ip}からの接続が失敗。ゲートウェイ{ip2}を再起動した。",
    "{ip}へのpingは成功、{ip2}には到達しない。担当：{last_title}",
    "ファイアウォールで{ip}を遮断しました。送信元IP：{ip2}",
    "監視サーバー（{ip}）が{date}に停止。詳細は{last_title}まで。",
    "DNS設定：プライマリ{ip}、セカンダリ{ip2}",
    "アクセスログ\n{ip} - - [{date}] \"GET /index.html\" 200\n"
    "{ip2} - - [{date}] \"POST /login\" 302",
    "接続元：{ip}　接続先：{ip2}　（バージョン{version}で確認）",
    # Invoices and orders: accounts, JAN codes, part numbers, prices.
    "請求書\n{company} 御中\n品番：{jan} 数量 {qty} 単価 {price}\n型番 {part}\n"
    "お振込先：{account}\n口座名義：{kata}",
    "納品書 JAN {jan}（{product}）×{qty}、合計{price}。担当：{last_title}",
    "商品コード {jan} の在庫は{qty}個です。",
    "見積No.{order} 型番{part} {price} 有効期限{date}",
    "お振込先 {account}　名義 {kata_dot}",
    # Phones in the ways people type them.
    "ご不明点は{phone}（受付 {time}〜18:00）までお電話ください。",
    "{name}様よりお電話あり。折り返し先：{phone}",
    "携帯：{mobile}　自宅：{phone}",
    "電話番号は {phone} です（{last_title}）",
    # Chat logs.
    "[{time}] {kata_dot}: サーバーのIPって{ip}で合ってる？\n[{time}] {last}: いや{ip2}です\n"
    "[{time}] {kata_dot}: 了解、{mobile}に電話します",
    "{last}: 振込先送ります→{account}\n{last2}: ありがとう！",
    "{last}「メールは{email_obf}にください」",
    # Notices and addresses.
    "移転のお知らせ：新事務所は{address_city}です（{date}より）。",
    "{name}（{address_city}在住）が受賞しました。",
    "本社　〒{zip}　{address}　代表 {phone}",
    # Look-alikes in prose: nothing here is personal.
    "リリースノート：{version}では{man}の挙動を修正。{version2}以前は非対応。",
    "詳細は {man} と {man2} を参照してください。",
    "{product}（JANコード：{jan}）を{price}で販売開始。",
    "ファームウェア {version} を適用（品番 {part}、{date}）",
    "発注日 {date}、品番：{jan}、{price}、納期 {date2}",
)

FIRMS = ("株式会社サンプル商事", "山田産業株式会社", "合同会社ミライ技研", "有限会社青葉運輸",
         "株式会社テクノソリューションズ", "〇〇工業株式会社", "医療法人社団さくら会")
DEPTS = ("総務部", "経理課", "情報システム部", "営業第二課", "人事部 採用チーム", "購買部")
TITLES = ("部長", "課長", "社長", "先生", "主任", "係長", "さん", "様", "氏", "専務")
PRODUCTS = ("ボールペン黒", "除菌シート", "USBケーブル 1m", "緑茶ティーバッグ", "A4コピー用紙")


def make_slots(rng: random.Random) -> dict[str, Slot]:
    def pii(kind: str, fn: Callable[[], str]) -> Slot:
        return lambda: (fn(), kind, None)

    def look(kind: str, fn: Callable[[], str]) -> Slot:
        return lambda: (fn(), None, kind)

    def plain(fn: Callable[[], str]) -> Slot:
        return lambda: (fn(), None, None)

    def last_title() -> list[Piece]:
        return [(v.person(rng).last, "PERSON", None), (rng.choice(TITLES), None, None)]

    def name_email() -> list[Piece]:
        who = v.person(rng)
        name = who.kanji(rng) if rng.random() < 0.7 else who.katakana(rng)
        opening, closing = rng.choice([(" <", ">"), ("<", ">"), (" ＜", "＞"), (" (", ")")])
        return [(name, "PERSON", None), (opening, None, None),
                (v.email_for(rng, who), "EMAIL_ADDRESS", None), (closing, None, None)]

    return {
        "name": pii("PERSON", lambda: v.person(rng).kanji(rng)),
        "name2": pii("PERSON", lambda: v.person(rng).kanji(rng)),
        "kata": pii("PERSON", lambda: v.person(rng).katakana(rng)),
        "kata_dot": pii("PERSON", lambda: v.person(rng).katakana(rng, dot=True)),
        "hira": pii("PERSON", lambda: v.person(rng).hiragana(rng)),
        "last": pii("PERSON", lambda: v.person(rng).last),
        "last2": pii("PERSON", lambda: v.person(rng).last),
        "last3": pii("PERSON", lambda: v.person(rng).last),
        "given_only": pii("PERSON", lambda: v.person(rng).first),
        "last_title": last_title,
        "name_email": name_email,
        "name_email2": name_email,
        "email": pii("EMAIL_ADDRESS", lambda: v.email_for(rng, v.person(rng))),
        "email_obf": pii("EMAIL_ADDRESS", lambda: v.obfuscated_email(rng, v.person(rng))),
        "email_utf8": pii("EMAIL_ADDRESS", lambda: v.unicode_email(rng, v.person(rng))),
        "phone": pii("PHONE_NUMBER", lambda: v.phone(rng)),
        "mobile": pii("PHONE_NUMBER", lambda: v.phone(rng, mobile=True)),
        "address": pii("JP_ADDRESS", lambda: v.address(rng)),
        "address_city": pii("JP_ADDRESS", lambda: v.address(rng, from_city=True)),
        "zip": pii("JP_POSTAL_CODE", lambda: v.postal_code(rng)),
        "my_number": pii("JP_MY_NUMBER", lambda: v.my_number_value(rng)),
        "card": pii("CREDIT_CARD", lambda: v.card_value(rng)),
        "account": lambda: v.account_pieces(rng),
        "ip": pii("IP_ADDRESS", lambda: v.ipv4(rng)),
        "ip2": pii("IP_ADDRESS", lambda: v.ipv4(rng)),
        "company": look("company", lambda: rng.choice(FIRMS)),
        "own": look("company", lambda: rng.choice(FIRMS)),
        "dept": plain(lambda: rng.choice(DEPTS)),
        "product": plain(lambda: rng.choice(PRODUCTS)),
        "qty": plain(lambda: str(rng.randint(1, 500))),
        "age": look("age", lambda: str(rng.randint(18, 89))),
        "jan": look("jan_code", lambda: v.jan_code(rng)),
        "version": look("version", lambda: v.version(rng)),
        "version2": look("version", lambda: v.version(rng)),
        "part": look("part_number", lambda: v.part_number(rng)),
        "order": look("order_number", lambda: f"{rng.choice('ABQ')}{_digits(rng, 8)}"),
        "date": look("date", lambda: v.date(rng)),
        "date2": look("date", lambda: v.date(rng)),
        "time": look("time", lambda: f"{rng.randint(8, 20)}:{rng.choice(['00', '15', '30'])}"),
        "price": look("price", lambda: v.price(rng)),
        "man": look("manpage_number", lambda: v.man_reference(rng)),
        "man2": look("manpage_number", lambda: v.man_reference(rng)),
    }


def generate(seed: int, per_form: int = 25, per_styled: int = 25) -> list[dict]:
    """Items of the "gimei-form" and "styled" sources (seeded apart from the Faker source)."""
    rng = random.Random(f"styled-{seed}")
    slots = make_slots(rng)
    items = []
    for source, templates, count in (("gimei-form", FORM_TEMPLATES, per_form),
                                     ("styled", STYLED_TEMPLATES, per_styled)):
        for t_index, template in enumerate(templates):
            for k in range(count):
                text, spans, looks = fill(template, slots)
                items.append({"id": f"{source[0]}{t_index}-{k}", "source": source, "text": text,
                              "spans": spans, "lookalikes": looks})
    return items
