#!/usr/bin/env bash
# Size report and memory check for a firmware ELF.
#   firmware_size.sh ELF REPORT LINKER_SCRIPT
# The regions are the linker script's MEMORY block (NAME (attr) : ORIGIN = 0x.., LENGTH = n[K|M]),
# the one place a board's memory map is written. A section counts toward the region holding its run address (VMA); a section that is
# copied at reset (.data, .itcm_text, ...) also counts toward the region holding its load
# address (LMA), i.e. flash. Exits 1, naming the region, when any region overflows: the
# build then fails even if a linker script forgot a MEMORY limit.
set -euo pipefail
elf=$1 report=$2 script=$3

# NAME:ORIGIN:LENGTH (bytes) for each line of the MEMORY block.
regions=$(awk '
  /^[ \t]*MEMORY/ { inside = 1; next }
  inside && /}/ { exit }
  inside && /ORIGIN/ {
    line = $0; gsub(/[ \t]/, "", line)            # FLASH(rx):ORIGIN=0x08000000,LENGTH=2048K
    name = line; sub(/[(:].*/, "", name)
    origin = line; sub(/.*ORIGIN=/, "", origin); sub(/,.*/, "", origin)
    length_ = line; sub(/.*LENGTH=/, "", length_)
    scale = 1
    if (length_ ~ /[Kk]$/) scale = 1024
    if (length_ ~ /[Mm]$/) scale = 1024 * 1024
    sub(/[KkMm]$/, "", length_)
    printf "%s:%s:%d\n", name, origin, length_ * scale
  }' "$script")
if [[ -z "$regions" ]]; then
  echo "error: $script: no MEMORY regions found" >&2
  exit 1
fi

# objdump -h prints two lines per section: "Idx Name Size VMA LMA ..." then its flags.
# (mawk has no strtonum: hex is converted by hand.)
sections=$(/usr/bin/arm-none-eabi-objdump -h "$elf" | awk '
  function hex(s,   i, n) { n = 0; s = tolower(s)
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n }
  /^ *[0-9]+ / { name=$2; size=$3; vma=$4; lma=$5; next }
  name != "" {
    alloc = ($0 ~ /ALLOC/); load = ($0 ~ /LOAD/)
    if (alloc) printf "%s %d %d %d %d\n", name, hex(size), hex(vma), hex(lma), load
    name = ""
  }')

status=0
{
  printf '%s\n\n' "$(basename "$elf")"
  printf '%-8s %10s %10s %7s\n' region used size use%
  for region in $regions; do
    IFS=: read -r rname origin length <<<"$region"
    origin=$((origin)) length=$((length))
    used=$(awk -v lo="$origin" -v hi="$((origin + length))" '
      { size=$2; vma=$3; lma=$4; load=$5
        if (vma >= lo && vma < hi) used += size
        else if (load && lma >= lo && lma < hi) used += size }
      END { print used + 0 }' <<<"$sections")
    printf '%-8s %10d %10d %6.1f%%\n' "$rname" "$used" "$length" "$(awk -v u="$used" -v l="$length" 'BEGIN{print 100*u/l}')"
    if (( used > length )); then
      echo "error: $(basename "$elf"): region $rname overflows: $used bytes used of $length" >&2
      status=1
    fi
  done
  printf '\n%-16s %10s %10s %10s\n' section size vma lma
  awk '{ printf "%-16s %10d 0x%08x 0x%08x\n", $1, $2, $3, $4 }' <<<"$sections"
} >"$report"
exit $status
