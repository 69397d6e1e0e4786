"""IP_ADDRESS: IPv4 dotted quads and IPv6 addresses, validated with `ipaddress`.

Only addresses that can name a host count: netmasks (255.255.255.0), networks (10.0.0.0/8),
the unspecified, loopback and multicast addresses are configuration values, not anybody's
address. Four-part version numbers look like IPv4 (2.4.8.1, 10.0.19041.1): a quad is dropped
when a version word (バージョン, リビジョン, version, release …) stands right before it or right
after it, and a quad of one-digit parts needs an IP context word (IP, アドレス, DNS …) to count.

A version word only counts as one when it names a version: inside a compound that names a
machine or a place ("ビルドサーバー", "リリース先", "バージョン管理サーバー") it says nothing
about the quad, and neither does one a few words away ("ver.2で10.0.0.1に"). A quad whose first
part has three digits (192.168…, 172.16…, 203.0.113…) is never a version: no product numbers
its major releases in the hundreds with a fourth part under 256.
"""

from __future__ import annotations

import ipaddress
import re

from presidio_analyzer import RecognizerResult

from transforms.recognizers.base import JaPatternRecognizer

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Zero-padded quads ("192.168.001.010", router manuals): all four parts three digits wide.
_PADDED = r"(?:[0-2]\d\d)"
# After these letters a quad is an address written without a space ("IP192.168.0.1").
_IP_LABEL = r"(?<![A-Za-z])(?:IP|IPv4|inet|addr)"
# Words that make a version word part of a machine's or a place's name, not a version.
_NOT_A_VERSION_AFTER = (
    r"(?!サーバ|ホスト|マシン|環境|先|元|機|端末|ノード|管理|用|ファーム|"
    r"[ _-]?(?:server|host|machine|node|farm))"
)
_VERSION_WORDS = (
    r"(?:バージョン|ヴァージョン|リビジョン|リリース|ビルド"
    r"|(?<![A-Za-z])(?:(?:version|revision|release|build)s?|ver|rev)(?![A-Za-z]))"
    + _NOT_A_VERSION_AFTER
)
# A version word right before the quad: "バージョン 2.4.8.1", "version: 1.0.0.1",
# "バージョン番号は 2.4.8.1", "Ver.1.0.0.2", "リビジョン(3.6.2.0)".
_VERSION_BEFORE = re.compile(
    _VERSION_WORDS + r"(?:番号|情報|表記|ノート|履歴)?(?:[\s:=.#(\[（「『]|は|が|を|も){0,4}v?$",
    re.IGNORECASE,
)
# ... or right after it: "2.8.1.1 というリビジョン", "1.2.3.4 版", "1.0.0.1 をリリース",
# "5.1.2.0以降で対応" (what releases are compared by). Not after a particle of place or
# direction ("10.0.0.5にリリース": released onto the host).
_VERSION_AFTER = re.compile(
    r"[\s)）」』]{0,2}(?:版|以前|以降|未満|(?:という|の|と|で|が|は|を)?\s?" + _VERSION_WORDS + ")",
    re.IGNORECASE,
)
_PREFIX_AFTER = re.compile(r"/(\d{1,3})(?!\d)")
# Below the default threshold: context words (IP, アドレス …) lift it back over.
_SMALL_PARTS_SCORE = 0.4


def _canonical_v4(value: str) -> str:
    """`192.168.001.010` -> `192.168.1.10` (`ipaddress` refuses leading zeros)."""
    if "." in value and ":" not in value:
        return ".".join(str(int(part)) for part in value.split("."))
    return value


def is_network_prefix(value: str, prefix: str) -> bool:
    """`10.0.0.0` before `/8`: a whole network (its host bits are zero), not one host."""
    try:
        network = ipaddress.ip_network(f"{_canonical_v4(value)}/{prefix}", strict=True)
    except ValueError:
        return False
    return network.num_addresses > 1


def is_host_address(value: str) -> bool:
    """A valid address that could name a host: not a netmask, unspecified, loopback or
    multicast, and an IPv6 address with at least one digit (not `a:b::c`)."""
    try:
        address = ipaddress.ip_address(_canonical_v4(value))
    except ValueError:
        return False
    if address.is_unspecified or address.is_loopback or address.is_multicast:
        return False
    if address.version == 6:
        return any(ch.isdigit() for ch in value)
    bits = int(address)
    host_part = (~bits) & 0xFFFFFFFF
    is_netmask = int(address) >> 24 == 255 and (host_part & (host_part + 1)) == 0
    return not is_netmask


def _can_be_version(value: str) -> bool:
    """Whether a dotted quad could be a four-part version (see the module docstring)."""
    return len(value.split(".", 1)[0]) < 3


class JaIpAddressRecognizer(JaPatternRecognizer):
    ENTITY = "IP_ADDRESS"
    PATTERNS = (
        ("ipv4", rf"(?:(?<![0-9A-Za-z_.])|(?<={_IP_LABEL}))(?:{_OCTET}\.){{3}}{_OCTET}"
         r"(?![0-9A-Za-z_]|\.\d)", 0.7),
        ("ipv4_padded", rf"(?:(?<![0-9A-Za-z_.])|(?<={_IP_LABEL}))(?:{_PADDED}\.){{3}}{_PADDED}"
         r"(?![0-9A-Za-z_]|\.\d)", 0.7),
        ("ipv6", r"(?<![0-9A-Za-z_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}"
         r"(?![0-9A-Za-z_:])", 0.6),
    )
    CONTEXT = ("IP", "アドレス", "サーバ", "ホスト", "接続", "address", "host", "inet",
               "DNS", "ゲートウェイ", "ルータ", "端末", "アクセス", "送信元", "宛先", "ping")
    TRIGGER = r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:"

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if is_host_address(pattern_text) else False

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        kept: list[RecognizerResult] = []
        seen: set[tuple[int, int]] = set()
        for result in results:
            if (result.start, result.end) in seen:  # a plain quad matches both v4 patterns
                continue
            seen.add((result.start, result.end))
            value = text[result.start : result.end]
            prefix = _PREFIX_AFTER.match(text, result.end)
            if prefix and is_network_prefix(value, prefix.group(1)):
                continue
            if ":" not in value:
                if _can_be_version(value) and (
                    _VERSION_BEFORE.search(text, max(0, result.start - 24), result.start)
                    or _VERSION_AFTER.match(text, result.end, result.end + 16)
                ):
                    continue
                if all(len(part) == 1 for part in value.split(".")):
                    result.score = min(result.score, _SMALL_PARTS_SCORE)
            kept.append(result)
        return kept
