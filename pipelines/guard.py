"""The residency guard: before a pipeline reads a byte, every place it would touch must be an
allowed location of the trust policy.

Checked: every manifest source, the output store, the temp and staging locations, and where the
workers run (`--region` for Dataflow; the local site for the direct, portable and Flink runners).
A `gs://`, `s3://` or Azure location has no region we could look up offline, so it must be
declared: a source by its manifest `location`, any other option by a named store location
(`declared`, URI prefix -> Location). A local path is at the local site. Anything undeclared or
outside the allowed list raises `ResidencyViolation`, whose message is one line naming the
option, the offending value and the allowed values. The guard reads only the policy and the
store's site file: it never opens, lists or stats a source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from lineage.policy import SignedPolicy, allowed_values, location_problem
from schemas.manifest import Location, Manifest
from schemas.policy import Site, TrustPolicy
from schemas.store import StoreLayout

CLOUD_SCHEMES = {"gs": "gcp", "s3": "aws", "az": "azure", "abfs": "azure", "abfss": "azure",
                 "wasbs": "azure"}
DATAFLOW_RUNNERS = {"dataflow", "dataflowrunner"}
SITE_RUNNERS = {"direct", "directrunner", "portable", "portablerunner", "flink", "flinkrunner"}


class ResidencyViolation(RuntimeError):
    """A launch that would touch a location outside the policy. `problems` lists every one;
    the message is the first, on one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0])
        self.problems = problems


def _site(store_root: Path | str, policy: TrustPolicy, site_id: str | None) -> tuple[Site, str]:
    """The site a local runner runs at, with its region (from <store>/keys/site.json)."""
    region = None
    if site_id is None:
        config_path = StoreLayout(Path(store_root)).keys / "site.json"
        try:
            config = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError):
            raise ResidencyViolation(
                [f"--store {store_root}: no local site ({config_path}); run `kura keys init`"]
            ) from None
        site_id, region = config.get("siteId"), config.get("region")
    site = next((s for s in policy.sites if s.site_id == site_id), None)
    if site is None:
        raise ResidencyViolation([f"site {site_id} is not in the trust policy "
                                  f"(policy v{policy.version})"])
    return site, region or site.regions[0]


def _declared_for(uri: str, declared: Mapping[str, Location]) -> Location | None:
    matches = [prefix for prefix in declared if uri.startswith(prefix)]
    return declared[max(matches, key=len)] if matches else None


def _location_check(
    option: str,
    uri: str,
    declared_location: Location | None,
    site_location: Location,
    policy: TrustPolicy,
) -> str | None:
    """The one-line problem with putting bytes at `uri`, or None if it is allowed."""
    scheme = urlparse(uri).scheme.lower()
    if len(scheme) == 1:  # a Windows drive letter, not a scheme
        scheme = ""
    if scheme in CLOUD_SCHEMES:
        provider = CLOUD_SCHEMES[scheme]
        if declared_location is None:
            return (f"{option} {uri} has no declared region; declare it as a named store "
                    f"location; allowed: {allowed_values(policy, provider)}")
        if declared_location.provider != provider:
            return (f"{option} {uri} is a {scheme}:// location but is declared as "
                    f"{declared_location.provider}")
        location = declared_location
    elif scheme in ("", "file"):
        location = declared_location or site_location
    else:
        return f"{option} {uri}: the residency guard cannot place {scheme}:// locations"
    problem = location_problem(policy, location.provider, location.country, location.region)
    if problem:
        return (f"{option} {uri} is in {location.provider} {location.country} "
                f"{location.region}; allowed: {allowed_values(policy, location.provider)}")
    return None


def _runner_check(
    runner: str, region: str | None, site: Site, site_location: Location, policy: TrustPolicy
) -> str | None:
    name = runner.lower()
    if name in DATAFLOW_RUNNERS:
        if not region:
            return f"--region is required for Dataflow; allowed: {allowed_values(policy, 'gcp')}"
        if location_problem(policy, "gcp", "JP", region):
            return f"--region {region} is not allowed; allowed: {allowed_values(policy, 'gcp')}"
        return None
    if name in SITE_RUNNERS:
        if region and region not in site.regions:
            return (f"--region {region} is not a region of site {site.site_id} where the "
                    f"{runner} runner runs; allowed: {', '.join(site.regions)}")
        loc = site_location
        if location_problem(policy, loc.provider, loc.country, loc.region):
            return (f"site {site.site_id} ({loc.provider} {loc.country} {loc.region}) is not an "
                    f"allowed location; allowed: {allowed_values(policy)}")
        return None
    known = ", ".join(sorted(DATAFLOW_RUNNERS | SITE_RUNNERS))
    return f"--runner {runner} is unknown to the residency guard; known: {known}"


def residency_problems(
    manifest: Manifest,
    store_root: Path | str,
    runner: str,
    region: str | None,
    temp_location: str | None,
    staging_location: str | None,
    policy: TrustPolicy | SignedPolicy,
    *,
    site_id: str | None = None,
    declared: Mapping[str, Location] | None = None,
) -> list[str]:
    """Every residency problem of a launch, each one line (empty if the launch may go)."""
    trust = policy.policy if isinstance(policy, SignedPolicy) else policy
    named = dict(declared or {})
    site, site_region = _site(store_root, trust, site_id)
    site_location = Location(provider=site.provider, country=site.country, region=site_region)
    problems = []
    for i, source in enumerate(manifest.sources):
        problems.append(
            _location_check(f"sources[{i}].uri", source.uri, source.location, site_location, trust)
        )
    for option, uri in (
        ("--store", str(store_root)),
        ("--temp_location", temp_location),
        ("--staging_location", staging_location),
    ):
        if uri:
            problems.append(
                _location_check(option, uri, _declared_for(uri, named), site_location, trust)
            )
    problems.append(_runner_check(runner, region, site, site_location, trust))
    return [p for p in problems if p]


def guard_launch(
    manifest: Manifest,
    store_root: Path | str,
    runner: str,
    region: str | None,
    temp_location: str | None,
    staging_location: str | None,
    policy: TrustPolicy | SignedPolicy,
    *,
    site_id: str | None = None,
    declared: Mapping[str, Location] | None = None,
) -> None:
    """Raise `ResidencyViolation` unless every location of the launch is allowed."""
    problems = residency_problems(
        manifest, store_root, runner, region, temp_location, staging_location, policy,
        site_id=site_id, declared=declared,
    )
    if problems:
        raise ResidencyViolation(problems)
