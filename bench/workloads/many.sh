# shellcheck shell=bash
# many: 200 containers. `ENGINE run -d --network none busybox sleep 1000` 200 times in
# sequence (each start timed, and the whole pass), then `ENGINE ps` with the 200 running
# (hyperfine), then one `ENGINE rm -f ID...` of all 200, timed once. The starts and the
# rm -f cannot be repeated by hyperfine (each changes the state the next one sees), so
# this workload times itself (many_measure, $EPOCHREALTIME around each command: no extra
# process in the timed part) and records its rows with lib/record.py.

many_n() { echo 200; }
many_ps_runs() { local r=$1; [ "$r" -ge 20 ] || r=20; echo "$r"; }   # ps: at least 20 runs

many_describe() {
  echo "$(many_n) x run -d --network none busybox sleep 1000 in sequence, then ps (hyperfine), then one rm -f of all"
}
many_needs() { echo busybox; }

many_rows() { # RUNS
  local n; n=$(many_n)
  printf 'many.start\t1\t%s\ts\n' "$n x run -d --network none busybox sleep 1000 in sequence: the whole pass, once"
  printf 'many.first20\t20\t%s\ts\n' "the same pass: median of starts 1-20"
  printf 'many.last20\t20\t%s\ts\n' "the same pass: median of starts $((n - 19))-$n"
  printf 'many.ps\t%s\t%s\ts\n' "$(many_ps_runs "$1")" "ps (table) with the $n running; hyperfine, 1 warmup"
  printf 'many.rm-f\t1\t%s\ts\n' "one rm -f of all $n (IDs as arguments; podman: rm -f -t 0), once"
}

many_setup() {
  ensure_busybox "$1" || return 1
  containers "$1" rm-all || return 1
}

many_measure() { # ENGINE RUNS
  local e=$1 runs=$2 n i t0 t1 pass0 pass1 ids=$W/many.$1.ids count
  local -n c="CLI_$e"
  local -a times ids_a
  n=$(many_n)
  : >"$ids"
  pass0=${EPOCHREALTIME/[.,]/}
  for ((i = 1; i <= n; i++)); do
    t0=${EPOCHREALTIME/[.,]/}
    "${c[@]}" run -d --network none busybox sleep 1000 >>"$ids" 2>"$W/many.$e.run.err" ||
      { echo "run -d number $i failed: $(reason_line "$W/many.$e.run.err")" >&2; return 1; }
    t1=${EPOCHREALTIME/[.,]/}
    times+=("$(us2s $((t1 - t0)))")
  done
  pass1=${EPOCHREALTIME/[.,]/}
  mapfile -t ids_a < <(grep -v '^[[:space:]]*$' "$ids")
  [ "${#ids_a[@]}" = "$n" ] || { echo "run -d printed ${#ids_a[@]} IDs, expected $n" >&2; return 1; }
  count=$("$W/bin/$e" ps -q | wc -l)
  [ "$count" = "$n" ] || { echo "ps -q lists $count running containers after the starts, expected $n" >&2; return 1; }
  echo "${times[*]}" >"$W/many.$e.times"
  record many.start "$e" s --series "starts=$W/many.$e.times" "$(us2s $((pass1 - pass0)))"   # with every start's time
  record many.first20 "$e" s "${times[@]:0:20}"
  record many.last20 "$e" s "${times[@]:n-20:20}"

  hyperfine -N --style none --warmup 1 --runs "$(many_ps_runs "$runs")" --command-name "$e ps ($n running)" \
    --export-json "$W/many.ps.$e.json" "$(cli "$e") ps" >"$W/many.ps.$e.out" ||
    { echo "hyperfine of ps failed" >&2; return 1; }
  count=$("$W/bin/$e" ps | grep -c 'sleep') || true
  [ "$count" = "$n" ] || { echo "ps shows $count rows with sleep after timing, expected $n" >&2; return 1; }
  cp "$W/many.ps.$e.json" "$R/many.ps.$e.json"

  # docker's rm -f (and berth's, which follows docker) kills with SIGKILL at once; podman's
  # sends SIGTERM and waits --time (10 s) first, which sleep as a container's init ignores
  # (its 200 took 295 s here). -t 0 gives podman the same work: kill, then remove.
  local -a rmf=(rm -f)
  [ "$e" != podman ] || rmf+=(-t 0)
  t0=${EPOCHREALTIME/[.,]/}
  "${c[@]}" "${rmf[@]}" "${ids_a[@]}" >/dev/null 2>"$W/many.$e.rm.err" ||
    { echo "rm -f of the $n containers failed: $(reason_line "$W/many.$e.rm.err")" >&2; return 1; }
  t1=${EPOCHREALTIME/[.,]/}
  count=$("$W/bin/$e" ps -aq | wc -l)
  [ "$count" = 0 ] || { echo "$count containers left after rm -f of all" >&2; return 1; }
  record many.rm-f "$e" s "$(us2s $((t1 - t0)))"
}

many_cleanup() { tidy "$1"; }
