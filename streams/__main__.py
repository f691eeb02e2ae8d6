"""``python -m streams worker``: run a stream worker (Faust's command line)."""

from streams.app import create_app
from streams.settings import Settings

create_app(Settings.from_env()).main()
