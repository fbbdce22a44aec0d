#!/usr/bin/env python3
"""Wait until PostgreSQL accepts a connection (``--db_host`` ..., ``--timeout``), like the official image."""

import argparse
import sys
import time

import psycopg2


def main() -> int:
    """Exit 0 once connected, 1 with the last error after the timeout."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db_host", required=True)
    parser.add_argument("--db_port", required=True)
    parser.add_argument("--db_user", required=True)
    parser.add_argument("--db_password", required=True)
    parser.add_argument("--timeout", type=int, default=5)
    args = parser.parse_args()
    deadline = time.time() + args.timeout
    error = None
    while time.time() < deadline:
        try:
            conn = psycopg2.connect(
                user=args.db_user,
                host=args.db_host,
                port=args.db_port,
                password=args.db_password,
                dbname="postgres",
            )
        except psycopg2.OperationalError as exc:
            error = exc
            time.sleep(1)
        else:
            conn.close()
            return 0
    print(f"Database connection failure: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
