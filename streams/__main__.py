"""``python -m streams worker``: run a stream worker (Faust's command line).

The worker runs without Faust's web server unless ``--with-web`` is given: the
pipeline does not use it, and several workers on one host would fight over its port.
Its own endpoints (``/livez``, ``/readyz``, ``/metrics``) are served by ``streams.web``
on ``ECG_WORKER_WEB_PORT`` whatever the flag says.
It runs on uvloop (``FAUST_LOOP``, read when faust is first imported), unless the
environment names another loop: the asyncio machinery around each chunk (sockets,
futures, timers) costs less there. The Kafka client's errors, logged at every retry
while a broker is away, are cut to one line per kind per minute (``schemas.kafka_logs``).
"""

import os
import sys

os.environ.setdefault("FAUST_LOOP", "uvloop")  # before streams.app imports faust

from schemas.kafka_logs import quiet_kafka_client_retries
from streams.app import create_app
from streams.settings import Settings

if "worker" in sys.argv and not {"--with-web", "--without-web"} & set(sys.argv):
    sys.argv.append("--without-web")
quiet_kafka_client_retries()
create_app(Settings.from_env()).main()
