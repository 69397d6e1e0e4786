"""The manifest's `[pii]` section: what the PII stage finds, scrubs, and how it replaces it.

    [pii]
    mode = "pseudonym"                    # or "placeholder" (the default)
    secret_env = "ACME_PII_SECRET"        # or secret_file = "/etc/kura/acme.pii.key"
    score_threshold = 0.5
    entities = ["PERSON", "PHONE_NUMBER"] # default: every supported type
    scrub_corporate_number = false        # corporate numbers are public: counted, kept

The pseudonym secret is named here, never written here: the stage reads it from the file or the
environment variable at launch, and it is never stored in the store or in lineage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Every entity type the Japanese recognizers find (see transforms/recognizers/).
PII_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "JP_ADDRESS",
    "JP_POSTAL_CODE",
    "JP_MY_NUMBER",
    "JP_CORPORATE_NUMBER",
    "JP_BANK_ACCOUNT",
    "JP_DRIVER_LICENSE",
    "JP_PASSPORT",
    "JP_RESIDENCE_CARD",
    "JP_HEALTH_INSURANCE",
    "CREDIT_CARD",
    "IP_ADDRESS",
)

# Public data: detected and counted, replaced only when `scrub_corporate_number` is true.
CORPORATE_NUMBER = "JP_CORPORATE_NUMBER"


class PiiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["placeholder", "pseudonym"] = Field(
        "placeholder",
        description="placeholder: typed tags like <PHONE_NUMBER>; pseudonym: keyed HMAC-SHA256 "
        "tokens like <PERSON_3f2a9c01d4e5>, the same value giving the same token corpus-wide",
    )
    entities: tuple[str, ...] = Field(
        PII_ENTITIES, description="entity types to find and scrub (default: all supported)"
    )
    score_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="minimum recognizer score, after context, to act on"
    )
    scrub_corporate_number: bool = Field(
        False, description="replace JP_CORPORATE_NUMBER too (public data: counted either way)"
    )
    secret_env: str | None = Field(
        None, description="environment variable holding the pseudonym secret"
    )
    secret_file: str | None = Field(None, description="file holding the pseudonym secret")

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(PII_ENTITIES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {list(PII_ENTITIES)}")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _pseudonym_needs_a_secret_source(self) -> PiiConfig:
        if self.mode == "pseudonym" and not (self.secret_env or self.secret_file):
            raise ValueError("pseudonym mode needs secret_env or secret_file")
        if self.secret_env and self.secret_file:
            raise ValueError("give secret_env or secret_file, not both")
        return self

    def detected_entities(self) -> tuple[str, ...]:
        """What the analyzer looks for: the configured types, plus corporate numbers (counted)."""
        if CORPORATE_NUMBER in self.entities:
            return self.entities
        return (*self.entities, CORPORATE_NUMBER)

    def scrubbed_entities(self) -> frozenset[str]:
        """What the anonymizer replaces."""
        scrubbed = set(self.entities)
        if not self.scrub_corporate_number:
            scrubbed.discard(CORPORATE_NUMBER)
        return frozenset(scrubbed)
