"""Customer-support logs: a ticket header with the customer's details, then the exchange."""

from __future__ import annotations

from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.vocab import ERROR_CODES, PRODUCTS, SYMPTOMS

INQUIRY = (
    "先週から{product}が{symptom}とのことで、お電話をいただきました。",
    "お客様によると、{n1}日ほど前に事務所の配置換えをしてから症状が出始めたそうです。",
    "画面には「{code}」というエラーが表示されているとのことでした。",
    "同じ型番の製品を{n2}台お使いで、そのうち一台だけで問題が起きているそうです。",
    "朝いちばんに使うときに限って症状が出るため、業務に支障が出ているとのお話でした。",
    "購入からまだ{n3}か月ほどしかたっていないので、初期不良ではないかとご心配されていました。",
    "以前にも同じ症状で問い合わせたことがあり、そのときは再起動で直ったそうです。",
    "取扱説明書の手順を一通り試したものの、改善しなかったとのことです。",
)
EXCHANGE = (
    "担当：お忙しいところ恐れ入ります。製品の背面にある製造番号を読み上げていただけますか。",
    "お客様：はい、少々お待ちください。シールがかすれていて少し読みにくいです。",
    "担当：電源コードを一度抜いて、{n4}秒ほど待ってから差し直していただけますでしょうか。",
    "お客様：やってみましたが、ランプの点滅は変わらないようです。",
    "担当：承知しました。では、{part}をいったん取り外して、もう一度取り付けてみてください。",
    "お客様：取り付け直したら、今度は正常に起動しました。ありがとうございます。",
    "担当：念のため、遠隔で設定を確認させていただいてもよろしいでしょうか。",
    "お客様：はい、お願いします。接続用の番号はメールで届いたものでいいですか。",
    "担当：恐れ入りますが、ご本人確認のため、ご登録のお電話番号をお教えいただけますか。",
    "お客様：急ぎで使いたいので、できれば今週中に直していただけると助かります。",
    "担当：ご不便をおかけして申し訳ございません。すぐに代替機の手配をいたします。",
    "お客様：保証期間内かどうかも、あわせて確認してもらえますか。",
)
OPTIONAL = (
    "遠隔サポートの接続元IPアドレスは{ip}でした。",
    "本人確認のため、運転免許証番号{licence}を確認しました。",
    "有償修理となるため、お支払いはクレジットカード（番号{card}）でお受けしました。",
    "折り返しのご連絡は携帯電話{mobile}に希望されています。",
)
RESULT = (
    "{part}の接触不良と判断し、交換用の部品を{n5}営業日以内に発送することになりました。",
    "ファームウェアを最新版に更新したところ、症状は解消しました。",
    "現地での点検が必要と判断し、技術担当の訪問日を調整しています。",
    "代替機を先にお送りし、故障品は回収して工場で詳しく調べる予定です。",
    "お客様には、同じ症状が再発した場合はすぐにご連絡いただくようお願いしました。",
    "今回の件はよくある質問にも追加し、窓口内で対応手順を共有します。",
    "保証期間内であることを確認したため、修理費用は発生しない旨をお伝えしました。",
)


def compose_support_log(c: Composer) -> Draft:
    product, prefix, part = c.pick(PRODUCTS)
    customer = c.pii.person()
    agent = c.pii.person()
    day = c.date()
    ticket = f"SR-{day.year}{day.month:02d}-{c.number(1000, 99999)}"
    ctx = {
        "product": product,
        "part": part,
        "symptom": c.pick(SYMPTOMS),
        "code": c.pick(ERROR_CODES),
        "n1": c.number(2, 10),
        "n2": c.number(2, 40),
        "n3": c.number(1, 11),
        "n4": c.number(10, 60),
        "n5": c.number(2, 7),
        "ip": c.plant("ip_address", c.pii.ip_address()),
        "licence": c.plant("drivers_license", c.pii.drivers_license()),
        "card": c.plant("credit_card", c.pii.credit_card()),
        "mobile": c.plant("phone", c.pii.phone("mobile")),
    }
    phone = c.plant("phone", c.pii.phone(c.pick(("mobile", "fixed", "fixed", "intl"))))
    header = [
        f"【サポート対応記録】受付番号 {ticket}",
        f"受付日時：{c.ja_date(day)} {c.time()}",
        f"お客様：{c.honored(customer, '様')}（{c.name(customer, 'kana')}）",
        f"連絡先：{phone} / {c.plant('email', c.pii.email(customer))}",
        f"ご住所：〒{c.plant('postal_code', c.pii.postal_code())} "
        f"{c.plant('address', c.pii.address())}",
        f"対象製品：{product} {prefix}-{c.number(100, 9899)}",
        f"担当者：{c.name(agent, 'tight')}",
    ]
    exchange = [line.format_map(ctx) for line in c.some(EXCHANGE, 4, 7)]
    body = [
        "\n".join(header),
        "■お問い合わせ内容\n" + c.fill(c.some(INQUIRY, 2, 4), ctx),
        "■対応経過\n" + "\n".join(exchange),
        c.fill(c.some(OPTIONAL, 1, 2), ctx),
        "■対応結果\n" + c.fill(c.some(RESULT, 2, 3), ctx),
    ]
    title = f"{product}の不具合に関するお問い合わせ（{ticket}）"
    return c.finish("support_log", title, "\n\n".join(body))
