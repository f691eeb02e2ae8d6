"""The WFDB records in the repository's data/ folder, read with the package's reader
(``client.wfdb``, which ``ecg simulate`` uses too)."""

from client.wfdb import Record, read_record

__all__ = ["Record", "read_record"]
