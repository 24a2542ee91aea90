# shellcheck shell=bash
# port_throughput: host → container through a published port. The container serves a
# 512 MiB file from a tmpfs with busybox httpd on port 80, published as 127.0.0.1's 18082;
# the timed command is `busybox wget -q -O /dev/null http://127.0.0.1:18082/f` from the
# bench's namespace (berth: nft DNAT with route_localnet; docker: its userland proxy,
# docker-proxy, which serves 127.0.0.1; podman: CNI portmap's DNAT).

port_throughput_size() { echo 536870912; }
port_throughput_describe() {
  echo "busybox wget of a 512 MiB file from a container's httpd through -p 18082:80, on 127.0.0.1"
}
port_throughput_needs() { echo busybox; }
port_throughput_min_runs() { echo 5; }

port_throughput_setup() {
  local e=$1 got
  ensure_busybox "$e" || return 1
  containers "$e" rm-all || return 1
  "$W/bin/$e" run -d --name bench-port -p 18082:80 --tmpfs /srv:size=600m busybox \
    sh -c "head -c $(port_throughput_size) /dev/zero > /srv/f && exec httpd -f -p 80 -h /srv" >/dev/null ||
    { echo "run -d -p 18082:80 failed"; return 1; }
  for _ in $(seq 100); do
    got=$(busybox wget -q -O - http://127.0.0.1:18082/f 2>/dev/null | wc -c)
    [ "$got" = "$(port_throughput_size)" ] && return 0
    sleep 0.2
  done
  echo "wget through the published port got $got bytes, expected $(port_throughput_size)"
  return 1
}

port_throughput_prepare() { :; }

port_throughput_command() { printf '%q wget -q -O /dev/null http://127.0.0.1:18082/f' "$(command -v busybox)"; }

port_throughput_check() {
  local st
  st=$("$W/bin/$1" inspect -f '{{.State.Status}}' bench-port) || { echo "inspect failed"; return 1; }
  [ "$st" = running ] || { echo "the server is $st"; return 1; }
}

port_throughput_cleanup() { tidy "$1"; }
