# Sourced by the load scripts, after PIDS=() and their exit trap.
# LOAD_SERVER_CPUS=0 pins the server to those CPUs and everything else (the load command, its
# peers) to the others: "per core" figures then come from a server that had exactly that much;
# LOAD_KEEP_AWAKE=1 keeps those others awake (below). Gives SERVER_PIN and PEER_PIN, commands
# to put before the server's and the peers' command lines (empty when nothing is pinned).
SERVER_PIN=(); PEER_PIN=()
if [ -n "${LOAD_SERVER_CPUS:-}" ]; then
  OTHERS=$(python3 -c "import os,sys; s={int(c) for c in sys.argv[1].split(',')}; print(','.join(str(c) for c in sorted(os.sched_getaffinity(0)) if c not in s))" "$LOAD_SERVER_CPUS")
  [ -n "$OTHERS" ] || { echo "LOAD_SERVER_CPUS leaves no CPU for the load" >&2; exit 2; }
  SERVER_PIN=(taskset -c "$LOAD_SERVER_CPUS"); PEER_PIN=(taskset -c "$OTHERS")
  if [ -n "${LOAD_KEEP_AWAKE:-}" ]; then
    # A busy loop at the lowest priority on each load CPU takes only their idle time, so the
    # server never pays for waking a halted virtual CPU to deliver a packet over loopback.
    for cpu in ${OTHERS//,/ }; do
      taskset -c "$cpu" nice -n 19 sh -c 'while :; do :; done' &
      PIDS+=($!)
    done
  fi
fi
