"""Local infrastructure without Docker: ``python -m infra up | down | run``.

PostgreSQL from the distribution's server binaries, Apache Kafka (KRaft) from
Maven Central, then the pipeline's own services; see ``infra/README-section.md``.
Standard library only, so it runs before anything else is installed.
"""
