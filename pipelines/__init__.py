"""Pipeline graphs, options, the residency guard at launch, and the `kura` CLI."""
