"""Product manuals: instructions, cautions and troubleshooting, with a support contact block."""

from __future__ import annotations

from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.vocab import ERROR_CODES, PRODUCTS, SYMPTOMS

INTRO = (
    "このたびは{company}の{product}「{model}」をお買い上げいただき、誠にありがとうございます。",
    "本書では、{model}を安全に正しくお使いいただくための手順と注意事項を説明しています。",
    "ご使用の前に必ず本書をお読みになり、内容を十分にご理解のうえでお使いください。",
    "お読みになったあとは、いつでも見られる場所に大切に保管してください。",
    "本製品は事務所や店舗など、屋内での業務利用を前提として設計されています。",
    "製品の仕様および外観は、改良のため予告なく変更することがあります。",
    "本書に記載されている画面やイラストは、実際のものと一部異なる場合があります。",
)
SAFETY = (
    "濡れた手で電源プラグを抜き差ししないでください。感電の原因となります。",
    "本体の上に物を置いたり、通風口をふさいだりしないでください。",
    "直射日光の当たる場所や、暖房器具の近くには設置しないでください。",
    "煙が出ている、変なにおいがするなどの異常に気づいたときは、すぐに電源を切ってください。",
    "お客様ご自身で分解や改造をすることは、絶対におやめください。",
    "{part}を交換するときは、必ず電源を切り、本体が冷えてから作業してください。",
    "小さなお子様の手の届く場所では使用しないでください。",
    "長期間使わないときは、安全のため電源プラグをコンセントから抜いておいてください。",
)
SETUP = (
    "まず、同梱品がすべてそろっていることを付属のチェックリストで確認してください。",
    "本体は水平で安定した場所に置き、背面から{n1}センチ以上のすき間をあけてください。",
    "付属の電源コードを本体背面の差し込み口に接続し、反対側をコンセントに差し込みます。",
    "電源ボタンを{n2}秒ほど長押しすると、起動を知らせる音が鳴ります。",
    "初めて起動したときは、画面の案内にしたがって日付と時刻を設定してください。",
    "ネットワークに接続する場合は、管理者から配布された設定情報を手元にご用意ください。",
    "設定が終わったら、テストモードで動作を確認してから実際の業務にお使いください。",
    "複数の拠点で使う場合は、拠点ごとに管理者用のパスワードを変更しておくと安心です。",
)
OPERATION = (
    "メニュー画面では、上下のボタンで項目を選び、決定ボタンで確定します。",
    "よく使う設定は「お気に入り」に登録しておくと、次回から少ない操作で呼び出せます。",
    "省電力モードを有効にすると、操作のない状態が{n3}分続いたときに自動で待機状態になります。",
    "利用履歴は最大{n4}件まで本体に保存され、古いものから順に上書きされます。",
    "管理者メニューに入るには、暗証番号の入力が必要です。",
    "作業が終わったら、終了メニューを選んでから電源を切るようにしてください。",
    "使い方が分からないときは、本体のヘルプボタンを押すと簡単な説明が表示されます。",
    "{part}は消耗品です。表示が出たら早めに交換してください。",
)
TROUBLE = (
    "{symptom}ときは、電源プラグがしっかり差し込まれているかを確認してください。",
    "画面に「{code}」と表示された場合は、いったん電源を切り、{n2}秒ほど待ってから入れ直してください。",
    "それでも直らないときは、{part}が正しく取り付けられているかどうかを確かめてください。",
    "ネットワークにつながらない場合は、ルーターの電源を入れ直すと改善することがあります。",
    "お手入れの際は、やわらかい布で軽くふき取ってください。シンナーやベンジンは使わないでください。",
    "上記の方法で解決しない場合は、製造番号を控えたうえでサポート窓口までご連絡ください。",
    "修理をご依頼いただく前に、本書の「故障かな？と思ったら」をもう一度ご確認ください。",
)
CONTACT = (
    "【お問い合わせ先】",
    "{company} カスタマーサポートセンター",
    "フリーダイヤル：{tollfree}（受付時間 平日9:00〜18:00）",
    "メール：{support_email}",
    "〒{postal} {address}",
    "法人番号：{corporate}",
)


def compose_manual(c: Composer) -> Draft:
    product, prefix, part = c.pick(PRODUCTS)
    model = f"{prefix}-{c.number(100, 9899)}{c.pick(('', 'A', 'S', 'Pro', 'II'))}"
    company = c.pii.company()
    ctx = {
        "company": company,
        "product": product,
        "model": model,
        "part": part,
        "symptom": c.pick(SYMPTOMS),
        "code": c.pick(ERROR_CODES),
        "n1": c.number(5, 30),
        "n2": c.number(3, 15),
        "n3": c.number(5, 60),
        "n4": c.number(100, 5000),
        "tollfree": c.plant("phone", c.pii.phone("tollfree")),
        "support_email": c.plant("email", c.pii.email(domain="support.example.co.jp")),
        "postal": c.plant("postal_code", c.pii.postal_code()),
        "address": c.plant("address", c.pii.address()),
        "corporate": c.plant("corporate_number", c.pii.corporate_number()),
    }
    title = f"{product} {model} 取扱説明書 第{c.number(1, 6)}版"
    sections = [
        title,
        c.fill(c.some(INTRO, 2, 4), ctx),
        "■安全上のご注意\n" + c.fill(c.some(SAFETY, 3, 5), ctx),
        "■設置と準備\n" + c.fill(c.some(SETUP, 3, 5), ctx),
        "■基本的な使い方\n" + c.fill(c.some(OPERATION, 3, 5), ctx),
        "■故障かな？と思ったら\n" + c.fill(c.some(TROUBLE, 3, 5), ctx),
        "\n".join(line.format_map(ctx) for line in CONTACT),
    ]
    return c.finish("manual", title, "\n\n".join(sections))
