#!/bin/sh
# The official image's entrypoint: options alone ("--providers.docker=true ...") and Traefik
# subcommands ("version") run traefik; anything else runs as given.
set -e

if [ "${1#-}" != "$1" ]; then
    set -- traefik "$@"
fi

if traefik "$1" --help >/dev/null 2>&1; then
    set -- traefik "$@"
else
    echo "= '$1' is not a Traefik command: assuming shell execution." 1>&2
fi

exec "$@"
