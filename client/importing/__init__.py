"""``ecg import``: recordings from files into the pipeline, one ECG per file
(docs/import.md).

- ``recording``: a file as the import sees it; ``formats`` picks its reader:
  ``wfdb_files``, ``edf_files`` or ``csv_files``, each giving ADC values with each
  lead's gain and baseline; ``leads`` names the leads.
- ``importer``: one file's import, as an upload or a stream (``streaming``);
  ``session`` the requests, retried and logged in again; ``state`` what lets a rerun
  resume; ``command`` the command line.

The readers' libraries (wfdb, edfio) are imported only for a file that needs them.
"""
