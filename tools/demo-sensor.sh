#!/bin/sh
# net-snmp `pass` handler for the demo: serves one LM-SENSORS-MIB temperature row whose value
# (milli-degrees, as lm-sensors reports it) is read from a file the demo script changes.
# Called by snmpd as: demo-sensor.sh -g|-n OID
base=.1.3.6.1.4.1.2021.13.16.2.1
file="${NETWATCH_DEMO_SENSOR:-$(dirname "$0")/../.cache/demo/temperature}"
value=$(cat "$file" 2>/dev/null || echo 45000)
index_oid="$base.1.1"; name_oid="$base.2.1"; value_oid="$base.3.1"
show() {
  case "$1" in
    "$index_oid") printf '%s\ninteger\n1\n' "$1" ;;
    "$name_oid") printf '%s\nstring\ndemo-cpu\n' "$1" ;;
    "$value_oid") printf '%s\ngauge\n%s\n' "$1" "$value" ;;
  esac
}
case "$1" in
  -g) show "$2" ;;
  -n)
    case "$2" in
      "$base"|"$base".1|"$base".1.0|"$base".0*) show "$index_oid" ;;
      "$index_oid"|"$base".1.*|"$base".2|"$base".2.0) show "$name_oid" ;;
      "$name_oid"|"$base".2.*|"$base".3|"$base".3.0) show "$value_oid" ;;
    esac ;;
esac
exit 0
