"""The words around Japanese names, and the name lists, shared by the PERSON rules.

`JaPersonRecognizer` (tokens) and `name_context` (characters) both read these: honorifics and
titles after a name, labels before one, the words that make a surname a company, and the
surname / given-name lists of `japanese_personal_name_dataset`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice, product

HONORIFICS = frozenset({"様", "さま", "さん", "氏", "殿", "君", "くん", "ちゃん", "先生"})
TITLES = frozenset({
    "部長", "課長", "社長", "係長", "主任", "専務", "常務", "会長", "所長", "支店長", "店長",
    "室長", "次長", "教授", "准教授", "博士", "弁護士", "医師", "税理士", "会計士", "理事長",
    "副社長", "監督", "選手", "議員", "代表", "担当", "本部長", "局長", "工場長", "センター長",
    "部長代理", "課長代理", "主査", "参事", "顧問", "相談役", "リーダー", "マネージャー",
    "マネジャー", "チーフ",
    # Titles of the people news text names (ロバーツ判事, シュレーダー首相, 武騎手): none of them
    # follows a place or a company the way 市長 or 知事 do (横浜市長 is not a person's name).
    "判事", "大統領", "首相", "長官", "党首", "総裁", "委員長", "校長", "女史", "投手", "捕手",
    "騎手", "容疑者", "被告",
})  # fmt: skip
# Labels and titles written just before a name (代表取締役 山田太郎, 担当：佐藤).
TITLES_BEFORE = (
    "代表取締役", "取締役", "代表者", "担当者", "担当", "氏名", "名前", "宛名", "申請者", "契約者",
    "差出人", "作成者", "社長", "部長", "課長", "署名", "送信者",
)  # fmt: skip
# Form-field labels a name follows after a colon (記録：岡田零, お客様：山田様).
NAME_LABELS = (
    *TITLES_BEFORE, "口座名義人", "口座名義", "名義人", "名義", "フリガナ", "ふりがな", "お名前",
    "記録者", "記録", "書記", "司会", "議長", "記入者", "受取人", "届出人", "申込者", "依頼者",
    "報告者", "承認者", "確認者", "責任者", "受付者", "対応者", "お客様", "顧客名", "連絡者",
    "来訪者", "面談者", "保証人", "患者名", "受講者", "講師", "問い合わせ先", "お問い合わせ先",
    "問合せ先", "連絡先", "宛先", "担当窓口", "カナ氏名", "氏名カナ", "氏名(カナ)",
    "回答者", "投稿者", "発言者", "質問者", "相談者", "被保険者", "受診者", "出品者", "購入者",
    "発表者",
)  # fmt: skip
# Labels whose value is a person, never a company or a team: enough to make katakana words
# after them a name (氏名：ジョン・スミス; 連絡先：サポート・センター is not).
PERSON_LABELS = (
    "氏名", "名前", "お名前", "代表取締役", "取締役", "代表者", "担当者", "申請者", "契約者",
    "署名", "記入者", "記録者", "書記", "司会", "議長", "報告者", "承認者", "確認者", "責任者",
    "受付者", "対応者", "来訪者", "面談者", "保証人", "患者名", "受講者", "講師", "届出人",
    "連絡者", "フリガナ", "ふりがな", "カナ氏名", "氏名カナ", "氏名(カナ)", "回答者", "投稿者",
    "発言者", "質問者", "相談者", "被保険者", "受診者", "出品者", "購入者", "発表者",
)  # fmt: skip
# Labels that may stand before a name with only a space (振込先 … 口座名義 ヤマダ タロウ).
SPACED_NAME_LABELS = ("口座名義人", "口座名義", "名義人", "名義", "代表取締役", "取締役", "担当者",
                      "申請者", "フリガナ", "ふりがな", "カナ氏名", "氏名カナ", "お名前", "氏名")
# Labels after which one kana word is a name's reading (フリガナ：ヤマダタロウ).
READING_LABELS = ("フリガナ", "ふりがな", "口座名義", "名義", "カナ氏名", "氏名カナ", "氏名(カナ)")
# Labels that introduce a list of names (出席者：山田氏、佐藤、鈴木さん).
LIST_LABELS = ("出席者", "参加者", "欠席者", "同席者", "出席", "参加", "欠席", "メンバー")
# Words that turn a preceding surname into a company, shop or place name.
ORGANISATION_WORDS = frozenset({
    "株式会社", "有限会社", "合同会社", "商事", "工業", "産業", "通信", "情報", "水産", "建設",
    "電機", "電気", "銀行", "証券", "保険", "不動産", "製作所", "化学", "食品", "運輸", "物産",
    "興業", "印刷", "鉄道", "商店", "書店", "病院", "医院", "事務所", "農園", "薬品", "ガス",
    "電力", "精機", "製薬", "開発", "技研", "ホールディングス", "グループ", "財団", "大学",
    "学園", "高校", "鉱業", "農林", "林業", "漁業", "牧場", "工房", "製作", "駅", "町", "村", "市",
    "区", "県", "線", "通り", "橋", "川", "家", "屋", "書房", "出版", "新聞", "放送", "文庫",
    "組", "会", "社", "店", "園", "堂", "館", "寺", "神社", "酒造", "製菓", "商会", "企画",
    "システム", "ソリューションズ", "テクノロジー", "サービス", "工務店", "運送", "倉庫",
})  # fmt: skip
# One-kanji surnames that are far more often a prefix of the title after them (前社長, 新部長,
# 各課長, 同氏, 本部長).
NOT_SURNAME_PREFIXES = frozenset("前元新現同各全副総故旧次当本両歴初某諸貴御代兼亡先")
# Country abbreviations before a title (英首相, 米大統領) are not one-kanji surnames either.
COUNTRY_PREFIXES = frozenset("英米仏独露韓伊豪加蘭印中朝")
# What a form field holds when it holds no name (回答者：なし, 担当者：未定, 氏名：同上).
NOT_PERSON_VALUES = frozenset({
    "なし", "無し", "ナシ", "ない", "無", "有", "有り", "あり", "不明", "ふめい", "未定", "みてい",
    "未記入", "未入力", "記入なし", "該当なし", "同上", "本人", "ご本人", "省略", "空欄", "匿名",
    "非公開", "非表示", "任意", "必須", "別紙", "別途", "後日", "全員", "各自", "未", "済", "済み",
    "要", "不要", "ありません", "同じ", "上記", "下記", "以下", "前記", "代理", "代表", "複数",
    "多数", "自分", "私", "わたし", "個人", "法人", "会社", "調整中", "確認中", "募集中", "選考中",
    "未決定", "欠員", "空き", "代筆", "なし(本人)", "いない", "いません", "特になし", "とくになし",
})  # fmt: skip
# One-kanji surnames that after a bare label are as often a word (担当：東 is a region).
AMBIGUOUS_SHORT_SURNAMES = frozenset("中所見長高金平北南東西向境角星原神城島")
# Lines that follow a name in a signature block (岡 枝己 / TEL：…): the name line above them
# is a person even when its surname is one kanji.
CONTACT_LINE_STARTS = ("TEL", "Tel", "tel", "FAX", "Fax", "電話", "携帯", "Mail", "mail", "MAIL",
                       "E-mail", "E-Mail", "Email", "e-mail", "メール", "内線", "〒", "Mobile")
# A given name never ends in these: they end departments, companies and places (営業部, 本店).
NOT_NAME_ENDINGS = frozenset("部課室係班局社店所館院校庁省署会組屋堂園県市区町村府駅線")
COMPANY_FORMS = ("株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "（株）", "㈱",
                 "(有)", "（有）")


# Variant kanji that official registers keep in names (髙橋, 山﨑, 渡邊, 齋藤): the dataset
# spells most names one way, so each name is also known in every spelling of its group.
KANJI_VARIANT_GROUPS = (
    "高髙", "崎﨑嵜碕", "辺邊邉", "斎齋齊斉", "浜濵濱", "沢澤", "桜櫻", "徳德", "広廣", "島嶋嶌",
    "槙槇", "曽曾", "富冨", "国國", "真眞", "恵惠", "瀬瀨", "淵渕", "吉𠮷", "条條",
    "竜龍", "舘館", "蔵藏", "実實", "栄榮", "万萬", "寿壽", "礼禮", "郎郞",
    "土𡈽",  # 𡈽屋 (U+2123D): with 𠮷, the astral kanji most often kept in registered names
)  # fmt: skip
_VARIANTS_OF = {ch: group for group in KANJI_VARIANT_GROUPS for ch in group}
_MAX_SPELLINGS = 16  # a long name with a variant in every character is not worth 2^n entries


def spellings(name: str) -> Iterator[str]:
    """`name` in each variant spelling of its kanji (itself first)."""
    choices = [_VARIANTS_OF.get(ch, ch) for ch in name]
    for chars in islice(product(*choices), _MAX_SPELLINGS):
        yield "".join(chars)


def with_spellings(names: Iterable[str]) -> set[str]:
    return {spelling for name in names for spelling in spellings(name)}


def katakana(kana: str) -> str:
    """Hiragana to katakana, other characters unchanged."""
    return "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in kana)


@dataclass(frozen=True)
class NameLists:
    """Surnames (two characters or more, kanji and katakana), given names (kanji and katakana),
    one-kanji surnames, each kanji surname's usual reading in katakana, and the two-kana
    readings (ハラ, トダ) that are surnames only next to a known given name."""

    surnames: frozenset[str] = frozenset()
    given_names: frozenset[str] = frozenset()
    short_surnames: frozenset[str] = frozenset()
    surname_readings: Mapping[str, str] = field(default_factory=dict)
    short_kana_surnames: frozenset[str] = frozenset()

    def is_surname(self, value: str) -> bool:
        return value in self.surnames or (len(value) == 1 and value in self.short_surnames)

    def is_given_name(self, value: str) -> bool:
        return value in self.given_names or katakana(value) in self.given_names


def load_name_lists() -> NameLists:
    """The lists of `japanese_personal_name_dataset` (MIT; 1,999 surnames, ~9.5k given names)."""
    from japanese_personal_name_dataset import load_dataset

    men, women, last_names = load_dataset(include_last_names=True)
    # One-character surnames (林, 森, 東) are ordinary words far more often than names.
    surnames = {name for name in last_names if len(name) >= 2}
    surnames = with_spellings(surnames)
    surnames |= {katakana(entry["reading"]) for entry in last_names.values()
                 if len(entry.get("reading", "")) >= 3}
    given: set[str] = set()
    for names in (men, women):
        for reading, entry in names.items():
            if len(reading) >= 2:
                given.add(katakana(reading))
            given.update(with_spellings(entry.get("kanji", ())))
    readings = {spelling: katakana(entry["reading"]) for name, entry in last_names.items()
                if entry.get("reading") for spelling in spellings(name)}
    return NameLists(
        surnames=frozenset(surnames),
        given_names=frozenset(given),
        short_surnames=frozenset(with_spellings(name for name in last_names if len(name) == 1)),
        surname_readings=readings,
        short_kana_surnames=frozenset(
            reading for reading in (katakana(e.get("reading", "")) for e in last_names.values())
            if len(reading) == 2
        ),
    )
