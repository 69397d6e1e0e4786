"""The curation job as Dataflow would receive it, built offline: guard, plan, translate, no submit.

    python -m pipelines.dataflow_job MANIFEST --store STORE --region asia-northeast1 \\
        --out job.json -- --project=P --temp_location=gs://BUCKET/tmp

The launch goes through the residency guard exactly as `kura onboard --runner DataflowRunner`
would (same `RunnerChoice`, same launch configuration), then the pipeline is built and handed to
Beam's DataflowRunner with `--dry_run=True`: Beam applies its Dataflow overrides, resolves the
workers' Docker environment and translates the graph into the portable pipeline proto, and
returns before it creates an API client. Nothing is staged or submitted and no network call is
made (tests/pipelines/test_dataflow_translation.py blocks the network to hold it to that).

What an offline build cannot give: Beam writes `--dataflow_job_file` and `--template_location`
only after staging the SDK and the pipeline to `--staging_location` (GCS), and the Dataflow job
description (workers' region, environment, staged packages) is assembled by that same client,
so neither exists without network. The output here is the job's name, its Dataflow options and
the translated pipeline proto (JSON), which is what the job description wraps.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lineage.keys import load_site_context
from pipelines.curate import build_graph
from pipelines.guard import ResidencyViolation, guard_launch
from pipelines.launch_config import launch_config
from pipelines.options import RunnerChoice, RunnerOptionError
from pipelines.plan import plan_run
from pipelines.stages import stages_for
from schemas.manifest import load_manifest

DRY_RUN = "--dry_run=True"


@dataclass(frozen=True)
class DataflowTranslation:
    job_name: str
    options: dict[str, Any]  # the Dataflow job's Google Cloud options (region, project, temp)
    pipeline: Any  # beam_runner_api_pb2.Pipeline, as DataflowRunner translated it

    def as_json(self) -> dict[str, Any]:
        from google.protobuf import json_format

        return {"jobName": self.job_name, "options": self.options,
                "pipeline": json_format.MessageToDict(self.pipeline)}


def translate_dataflow_job(manifest_path: Path, store_root: Path,
                           choice: RunnerChoice) -> DataflowTranslation:
    """The guarded launch of `choice` (a DataflowRunner), translated but never submitted."""
    if choice.runner != "DataflowRunner":
        raise RunnerOptionError(f"--runner {choice.runner}: only DataflowRunner is translated")
    choice = replace(choice, extra_args=(*choice.extra_args, DRY_RUN))  # last wins
    config = launch_config(choice)
    manifest = load_manifest(manifest_path)
    site = load_site_context(store_root)
    guard_launch(manifest, store_root, config, site.signed_policy, site_id=site.site_id)
    import apache_beam as beam
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    plan = plan_run(manifest, manifest_path, store_root, output_location=site.location)
    with tempfile.TemporaryDirectory(prefix="kura-dataflow-") as scratch:
        stages = stages_for(plan, Path(scratch) / "signatures", Path(scratch) / "dedup")
        pipeline = beam.Pipeline(options=config.pipeline_options())
        build_graph(pipeline, plan, stages, Path(scratch) / "run")
        result = pipeline.run()  # --dry_run: translated, then returned before any API client
    job = result.job
    cloud = job.options.view_as(GoogleCloudOptions)
    options = {"project": cloud.project, "region": cloud.region, "jobName": cloud.job_name,
               "tempLocation": cloud.temp_location, "stagingLocation": cloud.staging_location}
    return DataflowTranslation(cloud.job_name, options, job.proto_pipeline)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    beam_args: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, beam_args = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--region", required=True, help="the Dataflow region")
    parser.add_argument("--out", type=Path, required=True, help="where the job JSON goes")
    args = parser.parse_args(argv)
    choice = RunnerChoice(runner="DataflowRunner", region=args.region,
                          extra_args=tuple(beam_args))
    try:
        translation = translate_dataflow_job(args.manifest, args.store, choice)
    except (ResidencyViolation, RunnerOptionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(json.dumps(translation.as_json(), indent=1) + "\n")
    print(f"{translation.job_name}: {len(translation.pipeline.components.transforms)} "
          f"transforms for Dataflow in {translation.options['region']}, written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
