"""The pipeline's Python client and the ``ecg`` command: it talks to the gateway over
HTTP and WebSocket and reads the result topics from Kafka, and imports neither
``gateway`` nor ``streams`` (the wire formats it shares with them are in ``schemas``)."""
