"""Business e-mails: greeting, a topic's body, a closing and a signature block."""

from __future__ import annotations

from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.vocab import CITIES, DEPARTMENTS, MEETING_TOPICS, PRODUCTS

GREETINGS: tuple[str, ...] = (
    "お世話になっております。",
    "いつもお世話になっております。",
    "平素より大変お世話になっております。",
    "突然のご連絡失礼いたします。",
    "先日はお忙しいところお時間をいただき、ありがとうございました。",
)
CLOSINGS: tuple[str, ...] = (
    "お手数をおかけしますが、どうぞよろしくお願いいたします。",
    "ご不明な点がございましたら、お気軽にお問い合わせください。",
    "引き続きどうぞよろしくお願い申し上げます。",
    "ご検討のほど、よろしくお願いいたします。",
)
# (subject, body sentences)
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("お見積りの送付について", (
        "先日ご依頼いただいた{product}のお見積書を添付にてお送りいたします。",
        "数量は{n1}台、納品場所は{city}の物流センターとして計算しております。",
        "今月末までにご発注いただいた場合は、特別価格を適用させていただきます。",
        "保守契約を付けた場合の金額も、参考として別紙にまとめました。",
        "お見積りの有効期限は発行日から三十日間となっておりますので、ご注意ください。",
        "ご予算に合わない点がございましたら、仕様の見直しも含めてご相談ください。",
        "納期につきましては、ご発注から二週間ほどを見込んでいただければと存じます。",
        "設置作業が必要な場合は、別途お日にちを調整させていただきます。",
    )),
    ("打ち合わせ日程のご相談", (
        "{topic}の件で、一度お打ち合わせの機会をいただけないでしょうか。",
        "来週であれば、火曜日の午後か木曜日の午前中が空いております。",
        "ご都合のよい日時をいくつかお知らせいただければ、こちらで調整いたします。",
        "オンラインでも対面でも対応できますので、ご希望をお聞かせください。",
        "当日は弊社から{n2}名で伺う予定です。",
        "事前に確認しておきたい資料がございましたら、お送りいただけると助かります。",
        "お打ち合わせでは、これまでの経緯と今後の進め方を中心にご説明したいと考えております。",
        "議題の案を添付しましたので、追加したい項目があればお知らせください。",
    )),
    ("納期遅延のお詫び", (
        "ご注文いただいておりました{product}の納品が、予定より遅れる見込みとなりました。",
        "部品の入荷が遅れているためで、ご迷惑をおかけし誠に申し訳ございません。",
        "現時点では、{n2}週間ほど遅れてのお届けとなる見通しです。",
        "一部だけでも先にお届けできるよう、工場と調整を進めております。",
        "今後は同じことが起きないよう、在庫の管理方法を見直してまいります。",
        "代替品のご用意も可能ですので、必要でしたらお申し付けください。",
        "確定した納品日は、分かり次第あらためてご連絡いたします。",
        "ご予定に影響が出るようでしたら、遠慮なくご相談ください。",
    )),
    ("請求書送付のご案内", (
        "{month}月分のご請求書を本日郵送いたしました。",
        "お支払い期日は翌月末日となっておりますので、ご確認をお願いいたします。",
        "今月から請求書の様式が変わり、登録番号を記載するようになりました。",
        "電子での受け取りをご希望の場合は、専用のページからお申し込みいただけます。",
        "金額に相違がございましたら、お手数ですが経理担当までご連絡ください。",
        "なお、振込手数料は貴社にてご負担いただきますようお願いいたします。",
        "過去の請求書の再発行が必要な場合も、あわせてお申し付けください。",
    )),
    ("展示会のご案内", (
        "来月{city}で開かれる展示会に、弊社も出展することになりました。",
        "会場では{product}の新しいモデルを実際にお試しいただけます。",
        "ご来場いただいた方には、導入事例をまとめた冊子をお渡ししております。",
        "事前にご登録いただくと、受付での待ち時間なしで入場できます。",
        "お忙しい時期とは存じますが、ぜひお立ち寄りいただければ幸いです。",
        "会期中は担当者が常に待機しておりますので、気になる点を何でもお尋ねください。",
        "当日の混雑を避けたい方には、個別のご案内時間もご用意しております。",
    )),
    ("契約更新のご確認", (
        "現在ご利用いただいている保守契約が、{month}月末で満了となります。",
        "引き続きご利用いただく場合は、同封の書類にご記入のうえご返送ください。",
        "更新後は、サポートの受付時間が夜八時まで延長されます。",
        "料金の改定はございませんので、ご安心ください。",
        "内容を変更されたい場合は、担当の私までお気軽にご相談ください。",
        "ご返送の期限は、満了日の二週間前までとさせていただいております。",
        "この機会に、ご利用状況に合ったプランへの見直しもご検討いただけます。",
    )),
)


def compose_email(c: Composer) -> Draft:
    sender, recipient = c.pii.person(), c.pii.person()
    sender_company, recipient_company = c.pii.company(), c.pii.company()
    subject, sentences = c.pick(TOPICS)
    ctx = {
        "product": c.pick(PRODUCTS)[0],
        "topic": c.pick(MEETING_TOPICS),
        "city": c.pick(CITIES),
        "n1": c.number(2, 50),
        "n2": c.number(2, 5),
        "month": c.number(1, 12),
    }
    sender_dept = c.pick(DEPARTMENTS)
    phone = c.plant("phone", c.pii.phone(c.pick(("fixed", "fixed", "intl"))))
    signature = [
        "――――――――――――――――",
        f"{sender_company} {sender_dept}",
        f"{c.name(sender, 'spaced')}（{c.name(sender, 'kana')}）",
        f"〒{c.plant('postal_code', c.pii.postal_code())} {c.plant('address', c.pii.address())}",
        f"TEL：{phone}　携帯：{c.plant('phone', c.pii.phone('mobile'))}",
        f"E-mail：{c.plant('email', c.pii.email(sender, domain='example.co.jp'))}",
        "――――――――――――――――",
    ]
    parts = [
        f"件名：{subject}",
        f"{recipient_company}\n{c.pick(DEPARTMENTS)} {c.honored(recipient, '様')}",
        f"{c.pick(GREETINGS)}\n{sender_company}の{sender.last}です。",
        c.fill(c.some(sentences, 4, 6), ctx),
        c.pick(CLOSINGS),
        "\n".join(signature),
    ]
    return c.finish("email", subject, "\n\n".join(parts))
