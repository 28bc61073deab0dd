#!/usr/bin/env bash
# Run under `with-s3 with-mariadb`: checks that the combined wrappers hand both
# servers' variables (and ctest's IBSTREAM/IBS_SOURCE_DIR) to the command.
set -euo pipefail
fail() {
    echo "with_services: FAIL: $*" >&2
    exit 1
}
for v in IBS_TEST_MYSQL_SOCKET IBS_TEST_MYSQL_PORT IBS_TEST_MYSQL_USER IBS_TEST_MYSQL_PASSWORD \
    IBS_TEST_DATADIR IBS_TEST_DEFAULTS_FILE IBS_TEST_S3_ENDPOINT IBS_TEST_S3_BUCKET \
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION IBSTREAM IBS_SOURCE_DIR; do
    [[ -n "${!v:-}" ]] || fail "$v is not set"
done
[[ -S "$IBS_TEST_MYSQL_SOCKET" ]] || fail "no socket at $IBS_TEST_MYSQL_SOCKET"
[[ -f "$IBS_SOURCE_DIR/tests/integration/lib.sh" ]] || fail "IBS_SOURCE_DIR=$IBS_SOURCE_DIR is not the source tree"
user=$(mariadb --defaults-file="$IBS_TEST_DEFAULTS_FILE" --batch --skip-column-names -e "SELECT CURRENT_USER()") ||
    fail "cannot connect with $IBS_TEST_DEFAULTS_FILE"
[[ "$user" == ibstream@localhost ]] || fail "connected as '$user', expected ibstream@localhost"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$IBS_TEST_S3_ENDPOINT/") ||
    fail "the emulator at $IBS_TEST_S3_ENDPOINT does not answer"
[[ "$code" == 403 ]] || fail "an unsigned request got HTTP $code, expected 403"
echo "with_services: OK"
