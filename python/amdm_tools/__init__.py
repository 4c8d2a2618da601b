"""Python side of amdm: the exporter of real checkpoints (`amdm_tools.export`, run by `amdm export`)
and an independent reference implementation of AMDM over diffusers pipelines (`amdm_tools.reference`)."""
