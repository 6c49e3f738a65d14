#!/usr/bin/env bash
# Writes the per-dialect migrations from the templates in tmpl/.
cd "$(dirname "$0")"
for f in tmpl/*.sql; do
  b=$(basename "$f")
  sed 's/{{ID}}/INTEGER PRIMARY KEY AUTOINCREMENT/' "$f" > "sqlite/$b"
  sed 's/{{ID}}/BIGSERIAL PRIMARY KEY/' "$f" > "postgres/$b"
done
