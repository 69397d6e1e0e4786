"""DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse), Ed25519 only.

The signature covers PAE(payloadType, payload) =
    b"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
with LEN the byte length in ASCII decimal. `keyid` is a hint for finding the key, never trusted:
verification always goes through a public key the caller chose.
Base64 is the standard alphabet with padding, and decoding is strict.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lineage.signing import SigningKey


class EnvelopeError(ValueError):
    """An envelope that is not well-formed DSSE JSON."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's Pre-Authentication Encoding of a payload."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise EnvelopeError("not standard padded base64") from exc


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "payload": b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": b64encode(s.sig)} for s in self.signatures],
        }

    def to_json_line(self) -> str:
        """One log line: canonical JSON (sorted keys, no spaces), no newline."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON line: how other records refer to this envelope."""
        return hashlib.sha256(self.to_json_line().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        if not isinstance(data, dict):
            raise EnvelopeError("envelope is not a JSON object")
        try:
            payload = b64decode(data["payload"])
            payload_type = data["payloadType"]
            raw_sigs = data["signatures"]
            if not isinstance(payload_type, str) or not isinstance(raw_sigs, list) or not raw_sigs:
                raise EnvelopeError("envelope needs a payloadType and at least one signature")
            sigs = tuple(Signature(str(s.get("keyid", "")), b64decode(s["sig"])) for s in raw_sigs)
        except (KeyError, TypeError, AttributeError) as exc:
            raise EnvelopeError(f"envelope is missing a field: {exc}") from None
        return cls(payload_type, payload, sigs)

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"not JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
        return cls.from_dict(data)


def sign(payload_type: str, payload: bytes, key: SigningKey) -> Envelope:
    signature = Signature(key.keyid, key.sign(pae(payload_type, payload)))
    return Envelope(payload_type, payload, (signature,))


def signature_valid(envelope: Envelope, signature: Signature, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(signature.sig, pae(envelope.payload_type, envelope.payload))
    except InvalidSignature:
        return False
    return True


def canonical_json(value: Any) -> bytes:
    """The bytes Kura signs: UTF-8 JSON with sorted keys and no insignificant whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
