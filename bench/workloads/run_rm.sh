# shellcheck shell=bash
# run_rm: `ENGINE run --rm --network none busybox true`, the whole life of a container as a
# user waits for it. Baselines in the same row: bare `crun run` and `runc run` of an OCI
# bundle (the same busybox tree, config from `crun spec`: lib/make-bundle.py), which is what
# the runtime alone costs: no image, no overlay mount, no state of an engine.

run_rm_describe() {
  echo "run --rm --network none busybox true; crun, runc: bare 'run' of a busybox OCI bundle (crun spec, args [true], new netns)"
}
run_rm_needs() { echo busybox bundle; }
run_rm_engines() { echo berth docker podman crun runc; }
# Tens of milliseconds for the fast ones, and the goal is a ratio to crun: many runs.
run_rm_min_runs() { echo 20; }

run_rm_id() { echo "berth-bench-$1"; }   # bare runtimes: the container id (deleted by run itself)

run_rm_setup() {
  local e=$1
  case $e in
    crun|runc)
      # One untimed run: the bundle works and `run` leaves nothing behind.
      "$W/bin/$e" run --bundle "$W/$e/bundle" "$(run_rm_id "$e")" || { echo "$e run of the bundle failed"; return 1; }
      run_rm_check "$e"
      ;;
    *)
      ensure_busybox "$e" || return 1
      containers "$e" rm-all || return 1
      "$W/bin/$e" run --rm --network none busybox true || { echo "run --rm --network none busybox true failed"; return 1; }
      run_rm_check "$e"
      ;;
  esac
}

run_rm_prepare() { :; }

run_rm_command() {
  case $1 in
    # A fixed id: hyperfine's command is fixed, and a wrapper making ids would put a shell
    # into the timed part. `run` deletes the container when it exits (checked afterwards).
    crun|runc) printf '%s run --bundle %q %s' "$(cli "$1")" "$W/$1/bundle" "$(run_rm_id "$1")" ;;
    *) printf '%s run --rm --network none busybox true' "$(cli "$1")" ;;
  esac
}

run_rm_check() {
  local e=$1 n cg
  case $e in
    crun|runc)
      n=$("$W/bin/$e" list -q | wc -l)
      [ "$n" = 0 ] || { echo "$n containers left in $e's state after run"; return 1; }
      for cg in /sys/fs/cgroup/*/berth-bench/"$e"; do
        [ -d "$cg" ] || continue
        case $(stat -f -c %T "$cg") in cgroupfs|cgroup2fs) ;; *) continue ;; esac   # not the tmpfs over unified
        echo "cgroup $cg left after run"; return 1
      done
      ;;
    *)
      n=$(containers "$e" count) || { echo "ps -aq failed"; return 1; }
      [ "$n" = 0 ] || { echo "$n containers left after run --rm"; return 1; }
      ;;
  esac
}

run_rm_cleanup() { case $1 in crun|runc) ;; *) tidy "$1" ;; esac; }
