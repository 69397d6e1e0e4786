"""Service contracts between a company (甲) and an individual contractor (乙)."""

from __future__ import annotations

from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.vocab import SERVICES

# (clause title, alternative wordings); a contract takes a handful of clauses, one wording each.
CLAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("目的", (
        "本契約は、甲が乙に対し{service}を委託し、乙がこれを受託することについて必要な事項を定める。",
        "甲は乙に{service}を委託し、乙はその専門的な知識と経験を生かしてこれを誠実に行うものとする。",
    )),
    ("契約期間", (
        "本契約の期間は、{start}から{months}か月間とする。ただし、期間満了の一か月前までに"
        "いずれからも申し出がないときは、同じ条件でさらに一年間更新されるものとする。",
        "契約期間は{start}から始まり、{months}か月を経過した日に終わる。更新については両者で協議する。",
    )),
    ("報酬", (
        "甲は乙に対し、本業務の報酬として月額{fee}円（消費税別）を支払う。",
        "報酬の額は一か月あたり{fee}円とし、業務の内容が大きく変わるときは改めて協議する。",
    )),
    ("秘密保持", (
        "甲および乙は、本契約を通じて知り得た相手方の秘密を、相手方の書面による承諾なしに"
        "第三者に開示または漏えいしてはならない。",
        "乙は、業務上知り得た甲の営業上の情報を、契約期間中はもちろん、契約終了後も外部に漏らしてはならない。",
    )),
    ("再委託", (
        "乙は、甲の事前の書面による承諾を得ないかぎり、本業務の全部または一部を第三者に再委託してはならない。",
    )),
    ("成果物の権利", (
        "本業務によって生じた成果物の著作権は、報酬の支払いが完了した時点で乙から甲に移転する。",
        "成果物に関する権利は、甲が報酬を支払ったときに甲に帰属するものとし、乙は著作者人格権を行使しない。",
    )),
    ("契約の解除", (
        "甲または乙は、相手方が本契約に違反し、相当の期間を定めて催告したにもかかわらず"
        "改めないときは、本契約を解除することができる。",
        "いずれかの当事者が支払いを停止したときは、相手方は何らの催告なしに直ちに本契約を解除できる。",
    )),
    ("損害賠償", (
        "甲または乙は、自らの責めに帰すべき理由により相手方に損害を与えたときは、その損害を賠償する。",
        "損害賠償の額は、直近{months}か月分の報酬の合計額を上限とする。",
    )),
    ("反社会的勢力の排除", (
        "甲および乙は、自らが暴力団などの反社会的勢力に該当しないことを表明し、将来にわたっても"
        "該当しないことを確約する。",
    )),
    ("協議事項", (
        "本契約に定めのない事項や解釈に疑義が生じた事項については、甲乙誠意をもって協議のうえ解決する。",
        "本契約に関して争いが生じたときは、{court}地方裁判所を第一審の専属的合意管轄裁判所とする。",
    )),
)


def compose_contract(c: Composer) -> Draft:
    company = c.pii.company()
    contractor = c.pii.person()
    representative = c.pii.person()
    bank, branch, account_type, account = c.pii.bank_account()
    start = c.date()
    service = c.pick(SERVICES)
    ctx = {
        "service": service,
        "start": c.ja_date(start),
        "months": str(c.pick((3, 6, 12, 24))),
        "fee": f"{c.rng.randint(10, 120) * 10_000:,}",
        "court": c.pick(("東京", "大阪", "名古屋", "福岡", "横浜", "札幌")),
    }
    contractor_name = c.name(contractor, c.pick(("spaced", "tight")))
    lines = [
        "業務委託契約書",
        f"{company}（以下「甲」という。）と{contractor_name}（以下「乙」という。）は、"
        f"{service}に関し、次のとおり契約を締結する。",
    ]
    clauses = [(title, c.pick(wordings)) for title, wordings in c.some(CLAUSES, 5, 8)]
    clauses.append(("報酬の支払方法", (
        "甲は、毎月末日締めで当月分の報酬を計算し、翌月末日までに乙の指定する次の口座に振り込む。"
        f"\n振込先：{bank} {branch}支店 {account_type} {c.plant('bank_account', account)}"
        f" 口座名義 {c.name(contractor, 'kana')}")))
    clauses.append(("個人番号の取扱い", (
        "乙は、報酬の源泉徴収事務のために、甲に対して自らの個人番号（マイナンバー）を提供する。"
        f"\n乙の個人番号：{c.plant('my_number', c.pii.my_number())}\n"
        "甲は、提供を受けた個人番号を法令で定められた事務以外に利用してはならない。")))
    for number, (title, wording) in enumerate(clauses, start=1):
        lines.append(f"第{number}条（{title}）\n{wording.format_map(ctx)}")
    lines.append("本契約の成立を証するため、本書を二通作成し、甲乙記名押印のうえ各一通を保有する。")
    def postal_address() -> str:
        return (f"〒{c.plant('postal_code', c.pii.postal_code())} "
                f"{c.plant('address', c.pii.address())}")

    lines.append(
        f"{c.ja_date(start)}\n\n"
        f"甲　{postal_address()}\n"
        f"　　{company}（法人番号 {c.plant('corporate_number', c.pii.corporate_number())}）\n"
        f"　　代表取締役 {c.name(representative, 'spaced')}\n"
        f"乙　{postal_address()}\n"
        f"　　{c.name(contractor, 'spaced')}\n"
        f"　　電話 {c.plant('phone', c.pii.phone(c.pick(('mobile', 'fixed'))))}")
    title = f"業務委託契約書（{service}）"
    return c.finish("contract", title, "\n\n".join(lines))
