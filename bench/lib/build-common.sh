# shellcheck shell=bash
# Shared by the build_* workloads: a 10-step Dockerfile (the seed's Node shape, busybox for
# node) and a small context, one copy per engine, and the build commands of each engine.
# docker is measured twice in one run: the classic builder (DOCKER_BUILDKIT=0) for rows
# NAME, BuildKit for rows NAME.bk; berth's and podman's one measurement fills both rows, so
# each row's ratio compares with one docker builder.

build_ctx() { # ENGINE: (re)writes the context and prints its path
  local d=$W/build-ctx.$1 i
  rm -rf "$d"
  mkdir -p "$d/src/lib"
  cat >"$d/Dockerfile" <<'DF'
FROM busybox
ENV APP=/app NODE_ENV=production
WORKDIR /app
COPY package.json ./
RUN echo installed > /app/node_modules.txt
COPY src/ ./src/
RUN ls -R /app > /app/files.txt
COPY . .
EXPOSE 3000
CMD ["cat", "/app/files.txt"]
DF
  printf '{"name":"bench","version":"1.0.0"}\n' >"$d/package.json"
  for i in $(seq 1 20); do printf 'module.exports = %d;\n' "$i" >"$d/src/lib/m$i.js"; done
  printf 'console.log("server");\n' >"$d/src/server.js"
  printf 'node_modules\n.git\n' >"$d/.dockerignore"
  echo "$d"
}

build_rows() { # NAME RUNS DESCRIPTION
  printf '%s\t%s\t%s (docker: classic builder, DOCKER_BUILDKIT=0)\ts\n' "$1" "$2" "$3"
  printf '%s.bk\t%s\t%s (docker: BuildKit)\ts\n' "$1" "$2" "$3"
}

# ENGINE VARIANT CTX: one build, output to $W/build.ENGINE.VARIANT.out; VARIANT is
# legacy|bk (docker) or - (others).
build_once() {
  local e=$1 v=$2 ctx=$3
  local -n c="CLI_$e"
  case $e:$v in
    docker:legacy) DOCKER_BUILDKIT=0 "${c[@]}" build --network none -t bench-build "$ctx" ;;
    docker:bk) DOCKER_BUILDKIT=1 "${c[@]}" build --network none --progress plain -t bench-build "$ctx" ;;
    *) "${c[@]}" build --network none -t bench-build "$ctx" ;;
  esac >"$W/build.$e.$v.out" 2>&1
}

build_forget() { # ENGINE VARIANT: removes the image and every build cache (untimed)
  local e=$1 v=$2
  local -n c="CLI_$e"
  "${c[@]}" rmi -f bench-build >/dev/null 2>&1 || true
  case $e:$v in
    berth:*) "${c[@]}" builder prune -f >/dev/null ;;
    docker:bk) DOCKER_BUILDKIT=1 "${c[@]}" builder prune -af >/dev/null ;;
    docker:legacy) "${c[@]}" image prune -f >/dev/null ;;
    podman:*) "${c[@]}" image prune -f >/dev/null ;;
  esac
}

build_variants() { if [ "$1" = docker ]; then echo "legacy bk"; else echo "-"; fi; }

build_check_output() { # ENGINE VARIANT cold|cached|touch: the output says what happened
  local f=$W/build.$1.$2.out n
  n=$(grep -c -E 'CACHED|Using cache|--> Using cache' "$f" || true)
  case $3 in
    cold) [ "$n" = 0 ] || { echo "$1 $2: a cold build used the cache ($n steps)" >&2; return 1; } ;;
    cached) [ "$n" -ge 6 ] || { echo "$1 $2: a cached rebuild used the cache for only $n steps" >&2; cat "$f" >&2; return 1; } ;;
    touch) [ "$n" -ge 3 ] || { echo "$1 $2: the touched rebuild used the cache for only $n steps" >&2; return 1; } ;;
  esac
}

# ENGINE RUNS KIND ROW: times RUNS builds of KIND (cold: cache forgotten before each;
# cached: nothing changed; touch: one copied file's content changed before each) and
# records them under ROW (legacy/other) and ROW.bk.
build_measure() {
  local e=$1 runs=$2 kind=$3 row=$4 ctx v i t0 t1
  local -a times
  ctx=$(build_ctx "$e")
  for v in $(build_variants "$e"); do
    times=()
    build_forget "$e" "$v"
    build_once "$e" "$v" "$ctx" || { echo "$e $v: build failed: $(tail -1 "$W/build.$e.$v.out")" >&2; return 1; }
    for ((i = 0; i <= runs; i++)); do   # run 0 is the warm-up
      case $kind in
        cold) build_forget "$e" "$v" ;;
        touch) printf 'module.exports = "%s-%s";\n' "$v" "$i$RANDOM" >"$ctx/src/lib/m7.js" ;;
      esac
      sync
      t0=${EPOCHREALTIME/[.,]/}
      build_once "$e" "$v" "$ctx" || { echo "$e $v: build failed: $(tail -1 "$W/build.$e.$v.out")" >&2; return 1; }
      t1=${EPOCHREALTIME/[.,]/}
      build_check_output "$e" "$v" "$kind" || return 1
      [ "$i" = 0 ] || times+=("$(us2s $((t1 - t0)))")
    done
    case $v in
      legacy) record "$row" "$e" s "${times[@]}" ;;
      bk) record "$row.bk" "$e" s "${times[@]}" ;;
      *) record "$row" "$e" s "${times[@]}"; record "$row.bk" "$e" s "${times[@]}" ;;
    esac
  done
  "$W/bin/$e" run --rm --network none bench-build >/dev/null || { echo "$e: the built image does not run" >&2; return 1; }
}
