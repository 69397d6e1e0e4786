"""IP_ADDRESS: IPv4 dotted quads and IPv6 addresses, validated with `ipaddress`."""

from __future__ import annotations

import ipaddress

from transforms.recognizers.base import JaPatternRecognizer

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


class JaIpAddressRecognizer(JaPatternRecognizer):
    ENTITY = "IP_ADDRESS"
    PATTERNS = (
        ("ipv4", rf"(?<![0-9A-Za-z_.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9A-Za-z_]|\.\d)", 0.7),
        ("ipv6", r"(?<![0-9A-Za-z_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}"
         r"(?![0-9A-Za-z_:])", 0.6),
    )
    CONTEXT = ("IP", "アドレス", "サーバ", "ホスト", "接続", "address")
    TRIGGER = r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:"

    def validate_result(self, pattern_text: str) -> bool | None:
        try:
            ipaddress.ip_address(pattern_text)
        except ValueError:
            return False
        return None
