# shellcheck shell=bash
# rss: memory of the per-container supervisor with 10 containers running
# (`ENGINE run -d --network none busybox sleep 1000`, untimed). The supervisor is the
# parent of the container's init (PPid in /proc/PID/status, the init's pid from
# `ENGINE inspect -f '{{.State.Pid}}' ID`): berth's monitor, docker's containerd-shim-runc-v2,
# podman's conmon. Per container: its supervisor's VmRSS (and Pss from smaps_rollup),
# divided by the number of these containers that supervisor serves; median over the 10.

rss_n() { echo 10; }
rss_settle() { echo 2; }   # seconds after the last start before reading memory

rss_describe() {
  echo "supervisor memory per container (parent of the container's init) with $(rss_n) x run -d --network none busybox sleep 1000"
}
rss_needs() { echo busybox; }

rss_rows() {
  printf 'rss\t%s\t%s\tMiB\n' "$(rss_n)" "supervisor VmRSS per container (berth: monitor; docker: containerd-shim-runc-v2; podman: conmon), median of $(rss_n)"
  printf 'rss.pss\t%s\t%s\tMiB\n' "$(rss_n)" "the same supervisors' Pss (/proc/PID/smaps_rollup: shared pages split among their users)"
}

rss_setup() {
  ensure_busybox "$1" || return 1
  containers "$1" rm-all || return 1
}

rss_measure() { # ENGINE RUNS
  local e=$1 n i id pid ppid comm names="" count
  local -a ids ppids rss pss
  declare -A users=()
  n=$(rss_n)
  for ((i = 1; i <= n; i++)); do
    id=$("$W/bin/$e" run -d --network none busybox sleep 1000 2>"$W/rss.$e.run.err") ||
      { echo "run -d number $i failed: $(reason_line "$W/rss.$e.run.err")" >&2; return 1; }
    ids+=("$id")
  done
  sleep "$(rss_settle)"
  count=$("$W/bin/$e" ps -q | wc -l)
  [ "$count" = "$n" ] || { echo "ps -q lists $count running containers, expected $n" >&2; return 1; }
  for id in "${ids[@]}"; do
    pid=$("$W/bin/$e" inspect -f '{{.State.Pid}}' "$id") || { echo "inspect -f {{.State.Pid}} $id failed" >&2; return 1; }
    case $pid in ''|0|*[!0-9]*) echo "inspect gives pid '$pid' for a running container" >&2; return 1 ;; esac
    ppid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status") || { echo "no /proc/$pid" >&2; return 1; }
    case $ppid in ''|0|1) echo "the init of $id (pid $pid) has parent '$ppid': no supervisor of its own" >&2; return 1 ;; esac
    [ "$(cat "/proc/$pid/comm")" = sleep ] || { echo "pid $pid of $id is $(cat "/proc/$pid/comm"), not sleep" >&2; return 1; }
    ppids+=("$ppid")
    users[$ppid]=$((${users[$ppid]:-0} + 1))
  done
  for ppid in "${ppids[@]}"; do
    comm=$(basename "$(readlink "/proc/$ppid/exe")")
    case " $names " in *" $comm "*) ;; *) names="${names:+$names }$comm" ;; esac
    rss+=("$(awk -v u="${users[$ppid]}" '/^VmRSS:/ {printf "%.4f", $2 / 1024 / u}' "/proc/$ppid/status")")
    pss+=("$(awk -v u="${users[$ppid]}" '/^Pss:/ {printf "%.4f", $2 / 1024 / u}' "/proc/$ppid/smaps_rollup")")
  done
  record rss "$e" MiB --info "supervisor=$names" --info "supervisors=${#users[@]}" "${rss[@]}"
  record rss.pss "$e" MiB --info "supervisor=$names" "${pss[@]}"
  containers "$e" rm-all || { echo "rm -f of the $n containers failed" >&2; return 1; }
}

rss_cleanup() { tidy "$1"; }
