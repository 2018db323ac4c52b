#!/bin/sh
# Starts the silo with Scheduler__AdvertisedAddress set to this container's IP address unless it is given.
# Orleans advertises an IP (other silos and clients connect to what is in the membership table), and a
# container's IP is only known once it runs: it is what the container's own host name resolves to.
set -eu
if [ -z "${Scheduler__AdvertisedAddress:-}" ]; then
  host=${HOSTNAME:-$(cat /etc/hostname)}
  # "getent ahostsv4" prints "ADDRESS STREAM NAME" lines: the first word is the address.
  addresses=$(getent ahostsv4 "$host" || true)
  address=${addresses%%[[:space:]]*}
  case "$address" in
    "" | 127.*)
      echo "scheduler-entrypoint: could not find this container's IP (host name '$host' resolves to '${address:-nothing}');" \
        "set Scheduler__AdvertisedAddress" >&2
      exit 1
      ;;
  esac
  export Scheduler__AdvertisedAddress="$address"
  echo "scheduler-entrypoint: advertising $address"
fi
exec "$@"
