"""Getting what a source delivered into bronze: acquiring files and extracts (`acquire`,
`files`, `sftp`, `s3`, `sql`, `arrival`, `staging`), unpacking and reading them (`unpack`,
`readers`, `line_counts`), landing the rows in bronze and quarantine (`landing`) and
recording each delivery in `ingest_manifest` (`manifest`).

May import `core`, `lake` and `context`; Airflow only through provider hooks, for
connections.
"""
