#!/usr/bin/env bash
# The whole suite: lint, format, types, migrations, then pytest on SQLite and on PostgreSQL.
# PostgreSQL comes from DATABASE_URL when it names one, else 127.0.0.1:5432 database "test".
# Under CI=true a PostgreSQL that does not answer is a failure, never a silent skip.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export MINHU_ALLOW_DEV_KEY=1
fail=0
step() { printf '\n=== %s\n' "$*"; }

step "ruff check"; .venv/bin/ruff check . || fail=1
step "ruff format --check"; .venv/bin/ruff format --check . || fail=1
step "mypy --strict"; .venv/bin/mypy . || fail=1
step "makemigrations --check"; $PY manage.py makemigrations --check --dry-run --settings=minhu.settings_test || fail=1

PG_URL=${DATABASE_URL:-}
case "$PG_URL" in postgres*) ;; *) PG_URL=postgres://postgres@127.0.0.1:5432/test ;; esac
unset DATABASE_URL

summary=()
run_suite() {  # name, extra env...
  local name=$1; shift
  step "pytest on $name"
  local log; log=$(mktemp)
  env "$@" $PY -m pytest "${PYTEST_ARGS[@]}" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  summary+=("$name: $(grep -E '^=+ .*(passed|failed|error).* =+$' "$log" | tail -1 | tr -d '=') (exit $rc)")
  rm -f "$log"
  [ "$rc" = 0 ] || fail=1
}
PYTEST_ARGS=("$@")

pg_ok=0
if $PY - "$PG_URL" <<'PYEOF'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=5).close()
except Exception as exc:
    print(f"PostgreSQL not reachable at {sys.argv[1]}: {exc}")
    sys.exit(1)
PYEOF
then pg_ok=1; fi

# Tests marked "once" (browser, evaluation, PDF, scale-1 builds) run on PostgreSQL when it is
# there, else on SQLite.
run_suite sqlite MINHU_TEST_DB=sqlite MINHU_SKIP_ONCE=$pg_ok
if [ "$pg_ok" = 1 ]; then
  run_suite postgresql DATABASE_URL="$PG_URL" MINHU_TEST_DB=postgresql
elif [ "${CI:-}" = "true" ]; then
  summary+=("postgresql: NOT REACHABLE at $PG_URL (a failure under CI=true)"); fail=1
else
  summary+=("postgresql: skipped, not reachable at $PG_URL (set DATABASE_URL); CI treats this as a failure")
fi

step "summary"
printf '%s\n' "${summary[@]}"
[ "$fail" = 0 ] && echo "ALL CHECKS PASSED" || echo "SOME CHECKS FAILED"
exit $fail
