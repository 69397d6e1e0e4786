"""The residency guard: before a pipeline reads a byte, every place it would touch must be an
allowed location of the trust policy.

It reads the launch configuration (pipelines/launch_config.py): the options exactly as Beam will
run them, parsed once, last value wins. Checked: every manifest source, the output store, and
every option that can place data or work somewhere (`PLACEMENT_JUDGES`: regions and zones, temp,
staging and other locations, job endpoints, Flink masters, worker pools, the S3 endpoint and
region). Options known to place nothing (`PLACES_NOTHING`: sizes, names, credentials, type
checks) pass. Any other option that was given, including one no Beam class defines, is refused:
the guard cannot say where it would put bytes, so it fails closed.

A `gs://` or `s3://` location has no region we could look up offline, so it must be declared:
a source by its manifest `location`, which also places its bucket (a bucket has one location),
or any other option by a declared prefix (`declared`, URI prefix -> Location). A local path is
at the local site; a job endpoint on this machine (loopback) is at the local site, and any
other host is refused, since the trust policy cannot say where it is. Each problem is one line
naming the option, the offending value and the allowed values. The guard reads only the policy
and the store's site file: it never opens, lists or stats a source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lineage.attest import (
    EMBEDDED_FLINK,
    declared_cluster,
    endpoint_host,
    on_this_machine,
    zone_region,
)
from lineage.policy import SignedPolicy, allowed_values, location_problem
from pipelines.launch_config import LaunchConfig
from pipelines.plan import REMOTE_SCHEMES
from schemas.manifest import Location, Manifest
from schemas.policy import Site, TrustPolicy
from schemas.store import StoreLayout

# The remote schemes the planner can list and read, with the provider that hosts each. The
# guard places exactly these; a test holds them equal to pipelines.plan.REMOTE_SCHEMES.
CLOUD_SCHEMES = {"gs": "gcp", "s3": "aws"}
AZURE_SCHEMES = ("az", "abfs", "abfss", "wasb", "wasbs", "adl")
DATAFLOW_RUNNERS = {"dataflowrunner"}
SITE_RUNNERS = {"directrunner", "portablerunner", "flinkrunner"}
ENVIRONMENT_TYPES = ("LOOPBACK", "PROCESS", "DOCKER", "EXTERNAL")
# environment_options keys that configure a worker the runner starts on its own workers.
WORKER_ENVIRONMENT_KEYS = ("docker_container_image", "process_command", "process_variables")
_AWS_HOST = re.compile(r"(?:^|\.)s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$")

# Options that decide nothing about where data or work goes, grouped by why.
PLACES_NOTHING = frozenset({
    # how the graph is built and checked
    "streaming", "auto_unique_labels", "no_wait_until_finish", "resource_hints",
    "update_compatibility_version", "allow_non_deterministic_key_coders",
    "allow_unsafe_triggers", "disable_beartype", "exclude_infer_dataclass_field_type",
    "force_cloudpickle_deterministic_coders", "performance_runtime_type_check",
    "pipeline_type_check", "runtime_type_check", "type_check_additional",
    "type_check_strictness", "experiments", "number_of_worker_harness_threads",
    "dry_run", "wait_until_finish_duration", "on_success_matcher",
    # the DirectRunner: it runs in this process or its children, at the local site
    "direct_num_workers", "direct_running_mode", "direct_runner_bundle_repeat",
    "direct_runner_use_stacked_bundle", "direct_test_splits",
    # names, identities and credentials (which account, not which place)
    "project", "job_name", "labels", "service_account_email", "impersonate_service_account",
    "gcp_oauth_scopes", "no_auth", "user_agent", "s3_access_key_id", "s3_secret_access_key",
    "s3_session_token", "s3_api_version", "s3_verify", "s3_disable_ssl",
    # sizes, counts and scheduling of workers placed by the judged options
    "machine_type", "num_workers", "max_num_workers", "autoscaling_algorithm", "disk_size_gb",
    "disk_provisioned_iops", "disk_provisioned_throughput_mibps", "min_cpu_platform",
    "use_public_ips", "network", "flexrs_goal", "enable_streaming_engine",
    "enable_hot_key_logging", "max_cache_memory_usage_mb", "element_processing_timeout_minutes",
    "default_sdk_harness_log_level", "sdk_harness_log_level_overrides", "parallelism",
    "max_parallelism", "sdk_worker_parallelism", "environment_cache_millis",
    "job_server_timeout", "flink_version", "flink_submit_uber_jar",
    # the code the workers run (its source, not where data goes)
    "sdk_location", "setup_file", "requirements_file", "requirements_cache_only_sources",
    "extra_packages", "save_main_session", "pickle_library", "beam_plugins", "files_to_stage",
    "sdk_container_image", "worker_harness_container_image",
    "sdk_harness_container_image_overrides", "flink_job_server_jar",
    "job_server_java_launcher", "job_server_jvm_properties", "job_port", "artifact_port",
    "expansion_port",
    # the job service's own bookkeeping on GCS metrics and audit
    "enable_artifact_caching", "enable_bucket_read_metric_counter",
    "enable_bucket_write_metric_counter", "enable_gcsio_blob_generation",
    "no_gcsio_throttling_counter", "gcs_custom_audit_entries",
    # the profiler's switches (its output goes to profile_location, judged)
    "profile_cpu", "profile_memory", "profile_sample_rate",
})

# Options whose value is a place bytes are written to or read from.
LOCATION_OPTIONS = (
    "temp_location", "gcp_temp_location", "staging_location", "template_location",
    "dataflow_job_file", "profile_location", "profile_temp_location", "output_executable_path",
    "requirements_cache", "artifacts_dir", "jar_cache_dir",
)


class ResidencyViolation(RuntimeError):
    """A launch that would touch a location outside the policy. `problems` lists every one;
    the message is the first, on one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0])
        self.problems = problems


@dataclass(frozen=True)
class GuardContext:
    """What every judgment needs: the launch, the policy, the local site and declared places."""

    launch: LaunchConfig
    policy: TrustPolicy
    site: Site
    site_location: Location
    declared: Mapping[str, Location]


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


def _scheme(uri: str) -> str:
    scheme = urlparse(uri).scheme.lower()
    return "" if len(scheme) == 1 else scheme  # a Windows drive letter is not a scheme


def _bucket(uri: str) -> str | None:
    """`gs://b/x/y` -> `gs://b/`: a cloud bucket has exactly one location."""
    parsed = urlparse(uri)
    if parsed.scheme.lower() in CLOUD_SCHEMES and parsed.netloc:
        return f"{parsed.scheme.lower()}://{parsed.netloc}/"
    return None


def _declared_for(uri: str, declared: Mapping[str, Location]) -> Location | None:
    """The declaration of the longest prefix of `uri`, matched on `/` boundaries (so
    `gs://acme/` never places `gs://acme-us/`)."""
    def covers(prefix: str) -> bool:
        return uri == prefix.rstrip("/") or uri.startswith(prefix.rstrip("/") + "/")

    matches = [prefix for prefix in declared if covers(prefix)]
    return declared[max(matches, key=len)] if matches else None


def _location_check(option: str, uri: str, declared_location: Location | None,
                    site_location: Location, policy: TrustPolicy) -> str | None:
    """The one-line problem with putting bytes at `uri`, or None if it is allowed."""
    scheme = _scheme(uri)
    if scheme in CLOUD_SCHEMES:
        provider = CLOUD_SCHEMES[scheme]
        if declared_location is None:
            return (f"{option} {uri} has no declared region; declare its bucket's location "
                    f"(a manifest source in it, or a declared prefix); "
                    f"allowed: {allowed_values(policy, provider)}")
        if declared_location.provider != provider:
            return (f"{option} {uri} is a {scheme}:// location but is declared as "
                    f"{declared_location.provider}")
        location = declared_location
    elif scheme in ("", "file"):
        location = declared_location or site_location
    elif scheme in AZURE_SCHEMES:
        return (f"{option} {uri}: Azure storage ({scheme}://) cannot be read by kura; "
                f"use a local path, {' or '.join(REMOTE_SCHEMES)}")
    else:
        return f"{option} {uri}: the residency guard cannot place {scheme}:// locations"
    problem = location_problem(policy, location.provider, location.country, location.region)
    if problem:
        return (f"{option} {uri} is in {location.provider} {location.country} "
                f"{location.region}; allowed: {allowed_values(policy, location.provider)}")
    return None


def _gcp_region_problem(option: str, value: str, region: str, policy: TrustPolicy) -> str | None:
    if location_problem(policy, "gcp", "JP", region) is None:
        return None
    where = "" if value == region else f" is in gcp {region},"
    return f"{option} {value}{where} is not allowed; allowed: {allowed_values(policy, 'gcp')}"


def _endpoint_problem(option: str, address: str, ctx: GuardContext) -> str | None:
    """A job service, Flink master or worker pool runs the work: it must be at a place the
    policy knows: this machine (loopback, the local site), or a cluster the signed policy names
    (`kura keys allow-location flink://HOST ...`) in an allowed location."""
    if on_this_machine(address):
        return None
    cluster = declared_cluster(ctx.policy, address)
    if cluster is not None:
        return location_problem(ctx.policy, cluster.provider, cluster.country, cluster.region,
                                uri=cluster.uri)
    return (f"{option} {address}: the trust policy cannot say where {endpoint_host(address)} "
            "is; run it on this machine (localhost), or declare its cluster with `kura keys "
            "allow-location flink://HOST ...`")


def _judge_location(option: str) -> Callable[[Any, GuardContext], str | None]:
    def judge(value: Any, ctx: GuardContext) -> str | None:
        uri = str(value)
        return _location_check(f"--{option}", uri, _declared_for(uri, ctx.declared),
                               ctx.site_location, ctx.policy)
    return judge


def _judge_region(value: Any, ctx: GuardContext) -> str | None:
    runner = ctx.launch.runner.lower()
    if runner in DATAFLOW_RUNNERS:
        return _gcp_region_problem("--region", str(value), str(value), ctx.policy)
    if value not in ctx.site.regions:
        return (f"--region {value} is not a region of site {ctx.site.site_id} where the "
                f"{ctx.launch.runner} runs; allowed: {', '.join(ctx.site.regions)}")
    return None


def _judge_worker_region(value: Any, ctx: GuardContext) -> str | None:
    return _gcp_region_problem("--worker_region", str(value), str(value), ctx.policy)


def _judge_zone(option: str) -> Callable[[Any, GuardContext], str | None]:
    def judge(value: Any, ctx: GuardContext) -> str | None:
        return _gcp_region_problem(f"--{option}", str(value), zone_region(str(value)), ctx.policy)
    return judge


def _judge_resource_path(option: str, kind: str, required: bool
                         ) -> Callable[[Any, GuardContext], str | None]:
    """A GCP resource path (`.../regions/R/subnetworks/S`, `.../zones/Z/diskTypes/T`,
    `.../locations/L/keyRings/...`): the place it names must be allowed."""
    def judge(value: Any, ctx: GuardContext) -> str | None:
        found = re.search(rf"(?:^|/){kind}/([^/]+)", str(value))
        if found is None:
            if required:
                return (f"--{option} {value}: names no {kind[:-1]}; give its full path with "
                        f"{kind}/<region>")
            return None  # a bare name lives in the workers' own region, judged already
        place = found.group(1)
        region = zone_region(place) if kind == "zones" else place
        return _gcp_region_problem(f"--{option}", str(value), region, ctx.policy)
    return judge


def _judge_flink_master(value: Any, ctx: GuardContext) -> str | None:
    if value in EMBEDDED_FLINK:
        return None  # Beam starts Flink on this machine
    return _endpoint_problem("--flink_master", str(value), ctx)


def _judge_endpoint(option: str) -> Callable[[Any, GuardContext], str | None]:
    def judge(value: Any, ctx: GuardContext) -> str | None:
        return _endpoint_problem(f"--{option}", str(value), ctx)
    return judge


def _judge_environment_type(value: Any, ctx: GuardContext) -> str | None:
    if str(value).upper() in ENVIRONMENT_TYPES:
        return None
    return (f"--environment_type {value}: the residency guard cannot place it; use one of "
            f"{', '.join(ENVIRONMENT_TYPES)}")


def _judge_environment_config(value: Any, ctx: GuardContext) -> str | None:
    """EXTERNAL: the address of a worker pool, which runs the work: judged as an endpoint.
    DOCKER and PROCESS: an image or a command the runner starts on its own workers, which the
    job endpoint or Flink master places. LOOPBACK takes no config."""
    kind = ctx.launch.environment_type
    if kind == "EXTERNAL":
        return _endpoint_problem("--environment_config", str(value), ctx)
    if kind in ("DOCKER", "PROCESS"):
        return None
    return (f"--environment_config {value}: the residency guard cannot place it with "
            f"--environment_type {kind or 'unset'}; give --environment_type EXTERNAL, DOCKER "
            "or PROCESS")


def _judge_environment_options(value: Any, ctx: GuardContext) -> str | None:
    for item in value if isinstance(value, list) else [value]:
        key, _, setting = str(item).partition("=")
        if key == "external_service_address":
            problem = _endpoint_problem("--environment_options external_service_address",
                                        setting, ctx)
            if problem:
                return problem
        elif key not in WORKER_ENVIRONMENT_KEYS:
            return (f"--environment_options {key}: the residency guard cannot place it; "
                    f"known: external_service_address, {', '.join(WORKER_ENVIRONMENT_KEYS)}")
    return None


def _judge_s3_endpoint(value: Any, ctx: GuardContext) -> str | None:
    """An AWS endpoint names its region (s3.ap-northeast-1.amazonaws.com); an S3-compatible
    server on this machine is at the local site; anywhere else cannot be placed."""
    address = str(value)
    aws = _AWS_HOST.search(endpoint_host(address))
    if aws:
        region = aws.group(1)
        if location_problem(ctx.policy, "aws", "JP", region) is None:
            return None
        return (f"--s3_endpoint_url {address} is in aws {region}; "
                f"allowed: {allowed_values(ctx.policy, 'aws')}")
    if on_this_machine(address):
        return None
    return (f"--s3_endpoint_url {address}: the trust policy cannot say where "
            f"{endpoint_host(address)} is; use an AWS regional endpoint or a server on this "
            "machine (localhost)")


def _judge_s3_region(value: Any, ctx: GuardContext) -> str | None:
    if location_problem(ctx.policy, "aws", "JP", str(value)) is None:
        return None
    return (f"--s3_region_name {value} is not allowed; "
            f"allowed: {allowed_values(ctx.policy, 'aws')}")


def _judge_runner(value: Any, ctx: GuardContext) -> str | None:
    if value == ctx.launch.runner:
        return None
    return (f"--runner {value}: give the runner with kura's own --runner (before `--`), so the "
            "guard checks it")


# Every option that can place data or work, with how it is judged.
PLACEMENT_JUDGES: dict[str, Callable[[Any, GuardContext], str | None]] = {
    "runner": _judge_runner,
    "region": _judge_region,
    "worker_region": _judge_worker_region,
    "worker_zone": _judge_zone("worker_zone"),
    "zone": _judge_zone("zone"),
    "subnetwork": _judge_resource_path("subnetwork", "regions", required=False),
    "disk_type": _judge_resource_path("disk_type", "zones", required=False),
    "dataflow_kms_key": _judge_resource_path("dataflow_kms_key", "locations", required=True),
    "flink_master": _judge_flink_master,
    "job_endpoint": _judge_endpoint("job_endpoint"),
    "artifact_endpoint": _judge_endpoint("artifact_endpoint"),
    "environment_type": _judge_environment_type,
    "environment_config": _judge_environment_config,
    "environment_options": _judge_environment_options,
    "s3_endpoint_url": _judge_s3_endpoint,
    "s3_region_name": _judge_s3_region,
    **{option: _judge_location(option) for option in LOCATION_OPTIONS},
}


def _option_problem(option: str, value: Any, ctx: GuardContext) -> str | None:
    judge = PLACEMENT_JUDGES.get(option)
    if judge is not None:
        return judge(value, ctx)
    if option in PLACES_NOTHING:
        return None
    kind = "is not a Beam option kura knows" if option in ctx.launch.unknown else (
        "can place data or work where the residency guard cannot see")
    return (f"--{option} {kind}; the {ctx.launch.runner} launch is refused: remove it, or ask "
            "for the guard to learn it")


def _runner_problems(ctx: GuardContext) -> list[str | None]:
    """What a runner needs beyond its options: a Dataflow region, a portable job endpoint,
    and a local site that is itself an allowed location."""
    launch, policy = ctx.launch, ctx.policy
    name = launch.runner.lower()
    if name in DATAFLOW_RUNNERS:
        if not launch.region:
            return [f"--region is required for Dataflow; allowed: {allowed_values(policy, 'gcp')}"]
        return []
    if name in SITE_RUNNERS:
        problems: list[str | None] = []
        if name == "portablerunner" and not launch.value("job_endpoint"):
            problems.append("--job_endpoint is required for the PortableRunner: it says where "
                            "the job runs")
        loc = ctx.site_location
        if location_problem(policy, loc.provider, loc.country, loc.region):
            problems.append(f"site {ctx.site.site_id} ({loc.provider} {loc.country} "
                            f"{loc.region}) is not an allowed location; "
                            f"allowed: {allowed_values(policy)}")
        return problems
    known = ", ".join(sorted(DATAFLOW_RUNNERS | SITE_RUNNERS))
    return [f"--runner {launch.runner} is unknown to the residency guard; known: {known}"]


def _source_buckets(manifest: Manifest) -> tuple[dict[str, Location], list[str]]:
    """Each cloud source's bucket, placed by the source's declared location (a bucket has one
    location); a bucket declared in two places is a problem."""
    buckets: dict[str, Location] = {}
    problems = []
    for i, source in enumerate(manifest.sources):
        bucket = _bucket(source.uri)
        if bucket is None:
            continue
        if bucket in buckets and buckets[bucket] != source.location:
            problems.append(f"sources[{i}].location: bucket {bucket} is declared in "
                            f"{buckets[bucket].region} by an earlier source and in "
                            f"{source.location.region} here")
        buckets.setdefault(bucket, source.location)
    return buckets, problems


def _named_locations(policy: TrustPolicy) -> dict[str, Location]:
    """The buckets and clusters the signed policy names (`kura keys allow-location`)."""
    named: dict[str, Location] = {}
    for allowed in policy.allowed_locations:
        if allowed.uri is None:
            continue
        try:
            named[allowed.uri.rstrip("/")] = Location(
                provider=allowed.provider, country=allowed.country, region=allowed.region)
        except ValueError:
            continue  # a provider the manifest cannot name: no source or option can be there
    return named


def residency_problems(
    manifest: Manifest,
    store_root: Path | str,
    launch: LaunchConfig,
    policy: TrustPolicy | SignedPolicy,
    *,
    site_id: str | None = None,
    declared: Mapping[str, Location] | None = None,
) -> list[str]:
    """Every residency problem of a launch, each one line (empty if the launch may go)."""
    trust = policy.policy if isinstance(policy, SignedPolicy) else policy
    site, site_region = _site(store_root, trust, site_id)
    site_location = Location(provider=site.provider, country=site.country, region=site_region)
    buckets, problems = _source_buckets(manifest)
    ctx = GuardContext(launch, trust, site, site_location,
                       {**_named_locations(trust), **buckets, **(declared or {})})
    checked: list[str | None] = list(problems)
    for i, source in enumerate(manifest.sources):
        checked.append(
            _location_check(f"sources[{i}].uri", source.uri, source.location, site_location, trust)
        )
    store = str(store_root)
    checked.append(_location_check("--store", store, _declared_for(store, ctx.declared),
                                   site_location, trust))
    checked += _runner_problems(ctx)
    checked += [_option_problem(option, value, ctx) for option, value in launch.given.items()]
    return [p for p in checked if p]


def guard_launch(
    manifest: Manifest,
    store_root: Path | str,
    launch: LaunchConfig,
    policy: TrustPolicy | SignedPolicy,
    *,
    site_id: str | None = None,
    declared: Mapping[str, Location] | None = None,
) -> None:
    """Raise `ResidencyViolation` unless every location of the launch is allowed."""
    problems = residency_problems(manifest, store_root, launch, policy,
                                  site_id=site_id, declared=declared)
    if problems:
        raise ResidencyViolation(problems)
