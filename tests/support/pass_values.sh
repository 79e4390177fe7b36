#!/bin/sh
# net-snmp `pass` handler serving scalar values that a test changes while the agent runs:
# one file per OID in $NETWATCH_PASS_DIR (name: the numeric OID without a leading dot,
# content: "<type> <value>", e.g. "integer 9500"). Called by snmpd as: pass_values.sh -g|-n OID
dir="$NETWATCH_PASS_DIR"
show() {
  [ -f "$dir/$1" ] || return 0
  read -r type value < "$dir/$1"
  printf '.%s\n%s\n%s\n' "$1" "$type" "$value"
}
oid="${2#.}"
case "$1" in
  -g) show "$oid" ;;
  -n)
    next=$( (ls "$dir"; echo "$oid") | sort -t. -k1,1n -k2,2n -k3,3n -k4,4n -k5,5n -k6,6n \
      -k7,7n -k8,8n -k9,9n -k10,10n -k11,11n -k12,12n -k13,13n -k14,14n | uniq \
      | grep -A1 -x -F "$oid" | sed -n 2p)
    [ -n "$next" ] && show "$next" ;;
esac
exit 0
