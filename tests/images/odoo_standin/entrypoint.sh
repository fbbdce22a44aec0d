#!/bin/bash
# Entrypoint of the Odoo stand-in image, behaving like the official image's:
# database settings come from HOST/PORT/USER/PASSWORD (or the linked-container variables),
# a value set in $ODOO_RC wins, and they are appended as --db_host/--db_port/--db_user/--db_password.
set -e

if [ -v PASSWORD_FILE ]; then
    PASSWORD="$(< "$PASSWORD_FILE")"
fi

: "${HOST:=${DB_PORT_5432_TCP_ADDR:=db}}"
: "${PORT:=${DB_PORT_5432_TCP_PORT:=5432}}"
: "${USER:=${DB_ENV_POSTGRES_USER:=${POSTGRES_USER:=odoo}}}"
: "${PASSWORD:=${DB_ENV_POSTGRES_PASSWORD:=${POSTGRES_PASSWORD:=odoo}}}"

DB_ARGS=()
add_db_arg() {
    local param="$1" value="$2" line
    line="$(grep -E "^[[:space:]]*${param}[[:space:]]*=" "$ODOO_RC" 2>/dev/null | tail -n 1 || true)"
    if [ -n "$line" ]; then
        value="$(printf '%s' "${line#*=}" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/["\r]//g')"
    fi
    DB_ARGS+=("--${param}" "${value}")
}
add_db_arg db_host "$HOST"
add_db_arg db_port "$PORT"
add_db_arg db_user "$USER"
add_db_arg db_password "$PASSWORD"

case "$1" in
    -- | odoo)
        shift
        if [[ "$1" == "scaffold" ]]; then
            exec odoo "$@"
        else
            wait-for-psql.py "${DB_ARGS[@]}" --timeout=30
            exec odoo "$@" "${DB_ARGS[@]}"
        fi
        ;;
    -*)
        wait-for-psql.py "${DB_ARGS[@]}" --timeout=30
        exec odoo "$@" "${DB_ARGS[@]}"
        ;;
    *)
        exec "$@"
esac

exit 1
