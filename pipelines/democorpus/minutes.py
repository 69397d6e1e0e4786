"""Meeting minutes: attendees, agenda items with their discussion, decisions and actions."""

from __future__ import annotations

from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.vocab import DEPARTMENTS, JOB_TITLES, MEETING_TOPICS

DISCUSSION = (
    "{chair}から、前回の会議で決まった事項の進み具合について報告があった。",
    "現状では計画に対して{pct}パーセントほどの進み具合であり、来月中の完了を目指している。",
    "{member}からは、現場の負担が大きくなっているため人員の補充を検討してほしいとの意見が出た。",
    "費用については、当初の見積もりより{n1}万円ほど増える見込みであることが共有された。",
    "取引先への影響を最小限にするため、段階的に切り替える案が支持された。",
    "他部署との調整がまだ済んでいないため、結論は次回に持ち越すことになった。",
    "昨年度の実績と比べると、問い合わせの件数は{n2}件ほど減っている。",
    "スケジュールに余裕がないことから、優先順位をつけて取り組むべきだという意見が多かった。",
    "{member}が作成した資料をもとに、三つの案を比べながら話し合った。",
    "リスクとして、担当者の異動や繁忙期との重なりが挙げられた。",
    "新しい手順は、まず一つの拠点で試してから全社に広げる方針とした。",
    "外部の専門家に相談したうえで、来週中に方向性を決めることになった。",
)
DECISIONS = (
    "{topic}については、{member}を責任者として進める。",
    "必要な予算は{n1}万円を上限とし、経理部の承認を得る。",
    "{deadline}までに詳細な計画書を作成し、関係者に共有する。",
    "進み具合は週に一度、チャットで報告することとする。",
    "取引先への説明資料は、営業部が中心となって準備する。",
    "試行の結果は次回の会議で報告し、本格導入の可否を判断する。",
)
CONTACT = (
    "本件の問い合わせ先：{secretary}（内線{ext}、携帯{mobile}、{email}）",
    "資料の共有先：{email}",
)


def compose_minutes(c: Composer) -> Draft:
    dept = c.pick(DEPARTMENTS)
    attendees = [c.pii.person() for _ in range(c.rng.randint(3, 6))]
    chair, member, secretary = attendees[0], attendees[1], attendees[-1]
    day = c.date()
    topics = c.some(MEETING_TOPICS, 2, 3)
    start_hour = c.rng.randint(9, 16)
    chair_name = c.name(chair, "spaced") + c.pick(JOB_TITLES)
    ctx = {
        "chair": chair_name,
        "member": c.honored(member, c.pick(("さん", "氏"))),
        "secretary": c.name(secretary, "tight"),
        "pct": c.number(30, 95),
        "n1": c.number(10, 900),
        "n2": c.number(10, 300),
        "ext": c.number(1000, 8999),
        "deadline": f"{c.rng.randint(1, 12)}月{c.rng.randint(1, 28)}日",
        "mobile": c.plant("phone", c.pii.phone("mobile")),
        "email": c.plant("email", c.pii.email(secretary, domain="acme.example.co.jp")),
    }
    names = "、".join(c.honored(p, c.pick(("氏", "さん", ""))) for p in attendees)
    parts = [
        f"{dept} 定例会議 議事録",
        f"日時：{c.ja_date(day, weekday=True)} {start_hour}:00〜{start_hour + 1}:30\n"
        f"場所：本社{c.number(2, 12)}階 第{c.number(1, 5)}会議室（オンライン併用）\n"
        f"出席者：{names}\n記録：{ctx['secretary']}",
    ]
    for number, topic in enumerate(topics, start=1):
        ctx["topic"] = topic
        parts.append(f"{number}. {topic}について\n" + c.fill(c.some(DISCUSSION, 3, 5), ctx))
    decisions = [line.format_map(ctx) for line in c.some(DECISIONS, 2, 4)]
    parts.append("【決定事項】\n" + "\n".join(f"・{line}" for line in decisions))
    parts.append(c.pick(CONTACT).format_map(ctx))
    parts.append(f"次回は{c.rng.randint(1, 4)}週間後の同じ時間に開催する予定です。")
    title = f"{dept} 定例会議 議事録（{c.ja_date(day)}）"
    return c.finish("minutes", title, "\n\n".join(parts))
