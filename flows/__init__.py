"""Prefect flows and the `vgdata` command line: thin orchestration over `pipeline` and `converters`."""
