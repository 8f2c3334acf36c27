"""Mapping of third-party telemetry (OTLP) to Autoscope events; see docs/otlp-mapping.md."""
