"""JSON Schemas the OpenLineage export is checked against (package data, no code).

KuraFacets.json: Kura's custom facets (lineage/openlineage_facets.py). The OpenLineage spec's
own schemas (OpenLineage.json and the standard facets' files) go beside it when vendored; every
*.json file here is registered under its `$id` (see lineage/openlineage_schema.py).
"""
