#!/bin/sh
# Installs the DuckDB Python package that report-bench compares against (PyPI).
set -e
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install --quiet duckdb
python3 -c "import duckdb; print('duckdb', duckdb.__version__)"
