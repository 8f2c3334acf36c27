"""Autoscope: telemetry for the indicators of AI R&D automation.

The sub-packages are installed from the repository's top-level folders: ``autoscope.agents``
(hooks inside lab tools), ``autoscope.collector`` (receive, validate, pseudonymize, produce),
``autoscope.warehouse`` (Kafka → DuckDB, exactly once) and ``autoscope.pipelines`` (indicators,
anonymization). This package itself holds only the runtime that wires them together: the CLI,
the embedded broker and the demo. It imports nothing heavy, because the hooks install it too.
"""

__version__ = "0.1.0"
