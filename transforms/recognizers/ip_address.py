"""IP_ADDRESS: IPv4 dotted quads and IPv6 addresses, validated with `ipaddress`.

Only addresses that can name a host count: netmasks (255.255.255.0), networks (10.0.0.0/8),
the unspecified, loopback and multicast addresses are configuration values, not anybody's
address. Four-part version numbers look like IPv4 (2.4.8.1, 10.0.19041.1): next to a version
word (バージョン, リビジョン, version, release …) a quad is dropped, and a quad of one-digit parts
needs an IP context word (IP, アドレス, ホスト …) to count.
"""

from __future__ import annotations

import ipaddress
import re

from presidio_analyzer import RecognizerResult

from transforms.recognizers.base import JaPatternRecognizer

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_VERSION_WORDS = (
    r"(?:バージョン|ヴァージョン|リビジョン|リリース|ビルド"
    r"|(?<![A-Za-z])(?:(?:version|revision|release|build)s?|ver|rev)(?![A-Za-z]))"
)
# A version word shortly before the quad ("バージョン 2.4.8.1", "version: 1.0.0.1") ...
_VERSION_BEFORE = re.compile(_VERSION_WORDS + r"[^\n。]{0,12}$", re.IGNORECASE)
# ... or right after it ("2.8.1.1 というリビジョン", "1.2.3.4 版").
_VERSION_AFTER = re.compile(r"[^\n。]{0,8}?" + _VERSION_WORDS, re.IGNORECASE)
_PREFIX_AFTER = re.compile(r"/(\d{1,3})(?!\d)")
# Below the default threshold: context words (IP, アドレス …) lift it back over.
_SMALL_PARTS_SCORE = 0.4


def is_network_prefix(value: str, prefix: str) -> bool:
    """`10.0.0.0` before `/8`: a whole network (its host bits are zero), not one host."""
    try:
        network = ipaddress.ip_network(f"{value}/{prefix}", strict=True)
    except ValueError:
        return False
    return network.num_addresses > 1


def is_host_address(value: str) -> bool:
    """A valid address that could name a host: not a netmask, unspecified, loopback or
    multicast, and an IPv6 address with at least one digit (not `a:b::c`)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if address.is_unspecified or address.is_loopback or address.is_multicast:
        return False
    if address.version == 6:
        return any(ch.isdigit() for ch in value)
    bits = int(address)
    host_part = (~bits) & 0xFFFFFFFF
    is_netmask = value.startswith("255.") and (host_part & (host_part + 1)) == 0
    return not is_netmask


class JaIpAddressRecognizer(JaPatternRecognizer):
    ENTITY = "IP_ADDRESS"
    PATTERNS = (
        ("ipv4", rf"(?<![0-9A-Za-z_.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9A-Za-z_]|\.\d)", 0.7),
        ("ipv6", r"(?<![0-9A-Za-z_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}"
         r"(?![0-9A-Za-z_:])", 0.6),
    )
    CONTEXT = ("IP", "アドレス", "サーバ", "ホスト", "接続", "address", "host", "inet")
    TRIGGER = r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:"

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if is_host_address(pattern_text) else False

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        kept = []
        for result in results:
            value = text[result.start : result.end]
            prefix = _PREFIX_AFTER.match(text, result.end)
            if prefix and is_network_prefix(value, prefix.group(1)):
                continue
            if ":" not in value:
                if _VERSION_BEFORE.search(text, max(0, result.start - 24), result.start) or \
                        _VERSION_AFTER.match(text, result.end, result.end + 16):
                    continue
                if all(len(part) == 1 for part in value.split(".")):
                    result.score = min(result.score, _SMALL_PARTS_SCORE)
            kept.append(result)
        return kept
