"""Japanese PII recognizers for presidio, one module each; `build_recognizers` makes them all."""

from __future__ import annotations

from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer

from transforms.recognizers.address import JaAddressRecognizer
from transforms.recognizers.bank_account import JaBankAccountRecognizer
from transforms.recognizers.corporate_number import JaCorporateNumberRecognizer
from transforms.recognizers.credit_card import JaCreditCardRecognizer
from transforms.recognizers.driver_license import JaDriverLicenseRecognizer
from transforms.recognizers.email import JaEmailRecognizer
from transforms.recognizers.health_insurance import JaHealthInsuranceRecognizer
from transforms.recognizers.ip_address import JaIpAddressRecognizer
from transforms.recognizers.my_number import JaMyNumberRecognizer
from transforms.recognizers.passport import JaPassportRecognizer
from transforms.recognizers.person import JaPersonRecognizer
from transforms.recognizers.phone import JaPhoneRecognizer
from transforms.recognizers.postal_code import JaPostalCodeRecognizer
from transforms.recognizers.residence_card import JaResidenceCardRecognizer

RECOGNIZER_CLASSES: tuple[type[EntityRecognizer], ...] = (
    JaMyNumberRecognizer,
    JaCorporateNumberRecognizer,
    JaPhoneRecognizer,
    JaPostalCodeRecognizer,
    JaAddressRecognizer,
    JaPersonRecognizer,
    JaBankAccountRecognizer,
    JaDriverLicenseRecognizer,
    JaPassportRecognizer,
    JaResidenceCardRecognizer,
    JaHealthInsuranceRecognizer,
    JaCreditCardRecognizer,
    JaEmailRecognizer,
    JaIpAddressRecognizer,
)


def build_recognizers(entities: Iterable[str]) -> list[EntityRecognizer]:
    """One instance of each recognizer whose entity is wanted (heavy: call in setup)."""
    wanted = set(entities)
    built = []
    for cls in RECOGNIZER_CLASSES:
        if cls.ENTITY in wanted:
            built.append(cls())
    return built
