#!/usr/bin/env bash
# Exports variants as pcapng (`testbed run SPEC --format pcap --out FILE`) and checks each with
# tshark. No port is named: tshark finds SIP and HTTP on the testbed's ports by its heuristics,
# tried before port-based dissectors (the ports are the OS's ephemeral ones, and one may be a
# port Wireshark registers for another protocol: 44321 is PCP's). Without these generic
# preferences a file still opens and dissects, except on such a colliding port.
#   - every SIP message the export wrote is dissected as SIP (one CSeq per SIP PDU counted);
#   - no packet is malformed and no expert info has severity "error".
#
# usage: tools/pcap-check.sh [--bin PATH] [SPEC ...]
#   SPEC     a variant or a solution (default: 2, every solution-2 variant)
#   --bin    the testbed binary (default: $TESTBED, else target/debug/testbed)
# Exits 1 if any variant fails a check, 2 on a usage or tool problem.
set -euo pipefail

bin=${TESTBED:-target/debug/testbed}
specs=()
while (($#)); do
    case $1 in
        --bin) bin=${2:?--bin needs a path}; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) specs+=("$1"); shift ;;
    esac
done
((${#specs[@]})) || specs=(2)

command -v tshark >/dev/null || { echo "pcap-check: tshark is not installed" >&2; exit 2; }
[[ -x $bin ]] || { echo "pcap-check: no testbed binary at $bin (cargo build -p testbed, or --bin PATH)" >&2; exit 2; }

prefs=(-o tcp.try_heuristic_first:TRUE -o udp.try_heuristic_first:TRUE
    --enable-heuristic http_tcp)

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
began=$(date +%s%N)

# One run for all variants; each writes "<variant>: written to <file> (N SIP, N DNS, N HTTP …)".
if ! "$bin" run "${specs[@]}" --format pcap --out "$dir/capture.pcapng" 2>"$dir/log"; then
    cat "$dir/log" >&2
    echo "pcap-check: a variant failed to run" >&2
    exit 1
fi

failed=0
checked=0
while read -r variant file sip dns http; do
    checked=$((checked + 1))
    # One pass: SIP PDUs (one CSeq each), malformed packets, expert infos of severity error
    # (PI_ERROR, 0x00800000).
    read -r dissected bad < <(tshark -r "$file" "${prefs[@]}" -T fields -e sip.CSeq -e _ws.malformed \
        -e _ws.expert.severity -E occurrence=a -E aggregator=, 2>/dev/null |
        awk -F'\t' '$1 != "" { n += split($1, a, ",") }
            $2 != "" || $3 ~ /(^|,)8388608(,|$)/ { bad++ }
            END { print n + 0, bad + 0 }')
    if [[ $dissected -ne $sip || $bad -ne 0 ]]; then
        failed=1
        echo "FAIL $variant: $dissected of $sip SIP messages dissected as SIP, $bad malformed or error packets ($file kept in $dir.kept)"
        mkdir -p "$dir.kept" && cp "$file" "$dir.kept/"
    else
        echo "ok   $variant: $sip/$sip SIP dissected, $dns DNS, $http HTTP; no malformed or error packets"
    fi
done < <(sed -n 's/^\([^ ]*\): written to \(.*\) (\([0-9]*\) SIP, \([0-9]*\) DNS, \([0-9]*\) HTTP.*/\1 \2 \3 \4 \5/p' "$dir/log")

if ((checked == 0)); then
    cat "$dir/log" >&2
    echo "pcap-check: the export wrote no capture" >&2
    exit 2
fi
elapsed_ms=$((($(date +%s%N) - began) / 1000000))
printf '%d variant(s) checked with %s in %d.%03d s\n' "$checked" "$(tshark --version 2>/dev/null | head -1)" \
    $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
exit "$failed"
