#!/bin/bash
# bench-peers.sh: fffs through FUSE against GlusterFS and MooseFS on this host,
# every system with replication 3, the same fio jobs, and a local directory as
# the ceiling.  One invocation, one table.
#
# usage: tools/bench-peers.sh [--size SIZE] [--runtime S] [--out DIR]
#                             [--skip gluster|moosefs|fffs|local]... [--fffs BIN]
#
#   --size SIZE    fio file size (fio syntax, default 1G)
#   --runtime S    seconds of the 4 KiB random-read job (default 20)
#   --out DIR      results and the systems' data (default /tmp/bench-peers-<time>);
#                  raw fio JSON in DIR/<system>/{seqwrite,seqread,randread}.json,
#                  the metadata job in DIR/<system>/meta.json, table in DIR/table.txt
#   --skip NAME    leave a system out (repeatable, or comma separated)
#   --files N      files of the metadata job (default 10000)
#   --fffs BIN     the fffs binary (default: ../fffs next to this script)
#   --keep         keep the systems' data directories under DIR (default: removed)
#
# Systems, run one after the other (never two at once), each torn down before
# the next starts:
#   local    a directory on the file system holding --out (the ceiling)
#   fffs     `fffs lab up` (mgmtd, meta chain of 3, 3 storage servers x 2
#            targets, data chains of 3) on 127.0.0.1, FUSE mount
#   gluster  glusterd + replica 3 volume of 3 bricks on this host, all on
#            127.0.0.1 (bricks named by this host's name, which must resolve to
#            127.0.0.1 only), FUSE mount (mount -t glusterfs); volume options as
#            packaged (note: write-behind acknowledges even O_DIRECT writes
#            early; the end_fsync of the write job bounds that)
#   moosefs  mfsmaster + 3 mfschunkservers, goal 3, trash time 0.  MooseFS
#            refuses master<->chunkserver links over 127.x, so each daemon runs
#            in a network namespace of its own (bp-mfs-master, bp-mfs-cs1..3),
#            joined by veth links to a bridge in the namespace bp-mfs-hub, and
#            the root namespace gets one veth (bp-mfs0) into that bridge for the
#            client: subnet 10.213.77.0/24, which exists only on these links.
#            mfsmount runs in the root namespace.
#
# Jobs, the same on every system (fio, one job, one file of --size):
#   seqwrite   rw=write bs=1M ioengine=psync direct=1 end_fsync=1
#   seqread    rw=read  bs=1M ioengine=psync direct=1 (same file)
#   randread   rw=randread bs=4k ioengine=libaio iodepth=16 direct=1,
#              time_based --runtime seconds (same file)
#   meta       tools/bench-peers/meta.py: 10,000 creates, then 10,000 stats
#              after dropping the kernel's dentry/inode caches (also a warm stat
#              pass and unlinks, in meta.json but not in the table)
# All fio jobs use direct=1 (O_DIRECT); page caches are dropped before each job.
#
# Needs root (mounts, namespaces, drop_caches).  Installs missing Debian
# packages itself with apt-get: fio, glusterfs-server, glusterfs-client,
# moosefs-master, moosefs-chunkserver, moosefs-client, moosefs-cli.
# Not part of `make test`.
#
# Network: only 127.0.0.1 and the namespaces and veths this script creates.
# Everything it starts (mounts, daemons, namespaces, veths) is stopped and
# removed on exit, on failure and on Ctrl-C.

set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
HELP=$HERE/bench-peers
FFFS=$(cd "$HERE/.." && pwd)/fffs
SIZE=1G
RUNTIME=20
NFILES=10000
OUT=
KEEP=0
SKIP=" "

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }
die() { echo "bench-peers: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--size) SIZE=${2:?}; shift 2 ;;
	--runtime) RUNTIME=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--files) NFILES=${2:?}; shift 2 ;;
	--fffs) FFFS=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--skip)
		for s in ${2//,/ }; do
			case "$s" in
			local|fffs|gluster|moosefs) SKIP="$SKIP$s " ;;
			*) die "--skip: unknown system '$s' (local, fffs, gluster, moosefs)" ;;
			esac
		done
		shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
skipped() { case "$SKIP" in *" $1 "*) return 0 ;; esac; return 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (mounts, network namespaces, drop_caches)"
[ -n "$OUT" ] || OUT=/tmp/bench-peers-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/log.txt
: > "$LOG"

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }
# run a command with its output into the log; its status is returned
q() { echo "+ $*" >> "$LOG"; child "$@" >> "$LOG" 2>&1; }

# ---------------------------------------------------------------- packages
need_pkgs() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing Debian packages:$missing"
	DEBIAN_FRONTEND=noninteractive q apt-get install -y -q $missing && return 0
	DEBIAN_FRONTEND=noninteractive q apt-get update -q
	DEBIAN_FRONTEND=noninteractive q apt-get install -y -q $missing
}

# ---------------------------------------------------------------- cleanup
# Each set-up registers its teardown here as soon as it has started anything;
# the teardown unregisters itself when done.
CLEANUPS=""
on_cleanup() { CLEANUPS="$1 $CLEANUPS"; }
done_cleanup() { CLEANUPS=${CLEANUPS//$1 /}; }
cleanup() {
	local c
	for c in $CLEANUPS; do "$c"; done
	CLEANUPS=""
}
# Long commands run as background children that the script waits for: a
# trapped signal ends the wait at once (a foreground child would first have to
# finish), and the trap stops the child before cleaning up.
CHILD=
child() {
	"$@" &
	CHILD=$!
	wait $CHILD
	local rc=$?
	CHILD=
	return $rc
}
interrupted() {
	log "interrupted, cleaning up"
	if [ -n "$CHILD" ]; then
		kill -TERM "$CHILD" 2> /dev/null
		wait "$CHILD" 2> /dev/null
	fi
	cleanup
	exit 130
}
trap interrupted INT TERM HUP
trap 'cleanup' EXIT

# umount a FUSE mount; lazily if it is busy or its daemon hangs
unmount() {
	local m=$1 t
	mountpoint -q "$m" 2>/dev/null || return 0
	timeout 60 umount "$m" >> "$LOG" 2>&1 && return 0
	log "umount $m failed, lazy unmount"
	umount -l "$m" >> "$LOG" 2>&1 || true
	for t in $(seq 1 20); do mountpoint -q "$m" 2>/dev/null || return 0; sleep 0.5; done
}

# stop a pid (SIGTERM, wait up to $2 s, then SIGKILL)
stop_pid() {
	local pid=$1 wait=${2:-20} t
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null
	for t in $(seq 1 $((wait * 4))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
	log "pid $pid did not stop, SIGKILL"
	kill -9 "$pid" 2>/dev/null || true
}

# copy a system's logs (files or directories) to $OUT/<system>/logs
keep_logs() {
	local sys=$1 f
	shift
	mkdir -p "$OUT/$sys/logs"
	for f in "$@"; do [ -e "$f" ] && cp -r "$f" "$OUT/$sys/logs/" 2> /dev/null; done
}

# ---------------------------------------------------------------- jobs
dropcache() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# size in bytes of a fio size string (K/M/G/T, powers of 1024)
bytes() {
	local s=${1^^} n m=1
	s=${s%B}; s=${s%I}
	case "$s" in
	*K) m=1024 ;; *M) m=$((1024 ** 2)) ;; *G) m=$((1024 ** 3)) ;; *T) m=$((1024 ** 4)) ;;
	esac
	n=${s%[KMGT]}
	echo $((n * m))
}

# run the jobs on directory $2, results into $OUT/$1
run_jobs() {
	local sys=$1 dir=$2 res=$OUT/$1 w=$2/bench-peers rc=0 tmo
	mkdir -p "$res"
	mkdir -p "$w" || { log "$sys: cannot create $w"; return 1; }
	# generous bounds so a hung file system cannot hang the run: >= 2 MB/s
	tmo=$(( $(bytes "$SIZE") / 2000000 + 120 ))
	local common=(--directory="$w" --filename=bench.dat --size="$SIZE" --numjobs=1
		--group_reporting --output-format=json --direct=1)
	echo "$sys start $(date -u -Is) loadavg $(cat /proc/loadavg)" >> "$OUT/loadavg.txt"
	dropcache
	log "$sys: seq write 1M, $SIZE"
	child timeout "$tmo" fio --name=seqwrite "${common[@]}" --rw=write --bs=1M --ioengine=psync \
		--end_fsync=1 > "$res/seqwrite.json" 2>> "$res/fio.err" || { rc=1; log "$sys: seqwrite failed"; }
	dropcache
	log "$sys: seq read 1M"
	child timeout "$tmo" fio --name=seqread "${common[@]}" --rw=read --bs=1M --ioengine=psync \
		> "$res/seqread.json" 2>> "$res/fio.err" || { rc=1; log "$sys: seqread failed"; }
	dropcache
	log "$sys: randread 4k iodepth 16, ${RUNTIME}s"
	child timeout $((RUNTIME + tmo)) fio --name=randread "${common[@]}" --rw=randread --bs=4k \
		--ioengine=libaio --iodepth=16 --time_based=1 --runtime="$RUNTIME" --randrepeat=1 \
		> "$res/randread.json" 2>> "$res/fio.err" || { rc=1; log "$sys: randread failed"; }
	rm -f "$w/bench.dat"
	dropcache
	log "$sys: metadata, $NFILES creates and stats"
	rm -rf "$w/meta"
	child timeout 1800 python3 "$HELP/meta.py" "$w/meta" "$NFILES" > "$res/meta.json" 2>> "$res/meta.err" ||
		{ rc=1; log "$sys: metadata job failed"; }
	rmdir "$w" 2>/dev/null
	echo "$sys end   $(date -u -Is) loadavg $(cat /proc/loadavg)" >> "$OUT/loadavg.txt"
	return $rc
}

# ---------------------------------------------------------------- local
LOCALD=$OUT/data/local
local_setup() { mkdir -p "$LOCALD"; }
local_down() { rm -rf "$LOCALD"; }

# ---------------------------------------------------------------- fffs
FD=$OUT/data/fffs
fffs_setup() {
	[ -x "$FFFS" ] || { log "fffs: no binary $FFFS (run make)"; return 1; }
	local ts=$(( $(bytes "$SIZE") + 1024 ** 3 ))
	on_cleanup fffs_down
	q "$FFFS" lab up --dir "$FD" --storage 3 --targets 2 --replicas 3 --meta 3 --target-size "$ts" ||
		{ log "fffs: lab up failed"; return 1; }
	mountpoint -q "$FD/mnt" || { log "fffs: $FD/mnt is not mounted"; return 1; }
}
fffs_down() {
	keep_logs fffs "$FD/log"
	# lab down unmounts and stops every daemon of the lab
	q "$FFFS" lab down --dir "$FD" || log "fffs: lab down failed"
	unmount "$FD/mnt"
	[ "$KEEP" = 1 ] || q "$FFFS" lab down --dir "$FD" --purge || rm -rf "$FD"
	done_cleanup fffs_down
}

# ---------------------------------------------------------------- gluster
GB=$OUT/data/gluster
GVOL=benchpeers
G="gluster --mode=script"
gluster_setup() {
	need_pkgs glusterfs-server glusterfs-client || { log "gluster: packages missing"; return 1; }
	# the CLI refuses 127.0.0.1/localhost as brick host: use this host's name,
	# and only if it means 127.0.0.1 and nothing else (traffic stays on loopback)
	local h addrs i bricks="" n t
	h=$(hostname)
	addrs=$(getent ahosts "$h" | awk '{print $1}' | sort -u | tr '\n' ' ')
	[ "$addrs" = "127.0.0.1 " ] || {
		log "gluster: hostname $h resolves to '$addrs', not only 127.0.0.1; add '127.0.0.1 $h' to /etc/hosts"
		return 1
	}
	if pgrep -x glusterd > /dev/null; then log "gluster: a glusterd is already running"; return 1; fi
	mkdir -p "$GB/etc" "$GB/glusterd" "$GB/log" "$GB/mnt"
	cat > "$GB/etc/glusterd.vol" <<-CFG
	volume management
	    type mgmt/glusterd
	    option working-directory $GB/glusterd
	    option transport-type socket
	    option transport.socket.bind-address 127.0.0.1
	    option transport.socket.listen-port 24007
	    option transport.socket.read-fail-log off
	    option ping-timeout 0
	    option event-threads 1
	    option base-port 49152
	    option max-port 49251
	end-volume
	CFG
	on_cleanup gluster_down
	q glusterd -f "$GB/etc/glusterd.vol" -p "$GB/glusterd.pid" -l "$GB/log/glusterd.log" \
		--log-level INFO || { log "gluster: glusterd failed"; return 1; }
	for t in $(seq 1 30); do $G volume list > /dev/null 2>&1 && break; sleep 1; done
	for i in 1 2 3; do mkdir -p "$GB/bricks/b$i"; bricks="$bricks $h:$GB/bricks/b$i"; done
	# force: bricks on the root file system, all bricks of the replica set on one host
	q $G volume create $GVOL replica 3 transport tcp $bricks force ||
		{ log "gluster: volume create failed"; return 1; }
	q $G volume start $GVOL || { log "gluster: volume start failed"; return 1; }
	# bricks online, from the XML status (the plain one wraps long brick paths)
	for t in $(seq 1 60); do
		n=$($G volume status $GVOL --xml 2>/dev/null | python3 -c '
import sys, xml.etree.ElementTree as E
try:
    r = E.fromstring(sys.stdin.read())
except E.ParseError:
    r = None
nodes = r.iter("node") if r is not None else []
print(sum(1 for x in nodes if (x.findtext("path") or "").startswith(sys.argv[1])
          and x.findtext("status") == "1"))' "$GB/bricks/")
		[ "${n:-0}" -ge 3 ] && break
		sleep 1
	done
	[ "${n:-0}" -ge 3 ] || { log "gluster: only ${n:-0} of 3 bricks online"; return 1; }
	q $G volume info $GVOL
	q $G volume status $GVOL
	q mount -t glusterfs -o "log-file=$GB/log/mnt.log" 127.0.0.1:/$GVOL "$GB/mnt" ||
		{ log "gluster: mount failed"; return 1; }
}
gluster_down() {
	local p pid
	unmount "$GB/mnt"
	keep_logs gluster "$GB/log" /var/log/glusterfs/bricks/"$(echo "${GB#/}" | tr / -)"-bricks-b*.log
	if [ -f "$GB/glusterd.pid" ] && kill -0 "$(cat "$GB/glusterd.pid")" 2>/dev/null; then
		timeout 60 $G volume stop $GVOL force >> "$LOG" 2>&1
		timeout 60 $G volume delete $GVOL >> "$LOG" 2>&1
		stop_pid "$(cat "$GB/glusterd.pid")"
	fi
	# brick and self-heal daemons: by their pid files, only if they are ours
	for p in $(find "$GB/glusterd" /var/run/gluster -name '*.pid' 2>/dev/null); do
		pid=$(cat "$p" 2>/dev/null)
		[ -n "$pid" ] && grep -q "$GB" "/proc/$pid/cmdline" 2>/dev/null && stop_pid "$pid"
	done
	# anything else that still names our directory (e.g. a glusterfs client)
	for pid in $(pgrep -f "$GB/"); do
		grep -q "$GB" "/proc/$pid/cmdline" 2>/dev/null && stop_pid "$pid" 5
	done
	[ "$KEEP" = 1 ] || rm -rf "$GB"
	done_cleanup gluster_down
}

# ---------------------------------------------------------------- moosefs
MB=$OUT/data/moosefs
NS_HUB=bp-mfs-hub
NS_M=bp-mfs-master
NS_CS="bp-mfs-cs1 bp-mfs-cs2 bp-mfs-cs3"
NET=10.213.77
M_IP=$NET.1
CL_IP=$NET.254
ROOT_IF=bp-mfs0
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

mfs_net_up() {
	local ns i=0 ip
	# the subnet must not be in use here, so nothing can leave through it
	if ip -4 route show | grep -q "^$NET\."; then log "moosefs: $NET.0/24 is already routed here"; return 1; fi
	for ns in $NS_HUB $NS_M $NS_CS; do
		ip netns list | grep -qw "$ns" && { log "moosefs: namespace $ns exists (from a previous run?)"; return 1; }
	done
	ip link show "$ROOT_IF" > /dev/null 2>&1 && { log "moosefs: $ROOT_IF exists"; return 1; }
	on_cleanup mfs_net_down
	q ip netns add $NS_HUB || return 1
	q ip -n $NS_HUB link add br0 type bridge || return 1
	q ip -n $NS_HUB link set br0 up || return 1
	q ip -n $NS_HUB link set lo up
	for ns in $NS_M $NS_CS; do
		i=$((i + 1))
		if [ "$ns" = $NS_M ]; then ip=$M_IP; else ip=$NET.$((10 + i - 1)); fi
		q ip netns add "$ns" || return 1
		q ip -n $NS_HUB link add "h$i" type veth peer name eth0 netns "$ns" || return 1
		q ip -n $NS_HUB link set "h$i" master br0 up || return 1
		q ip -n "$ns" addr add "$ip/24" dev eth0 || return 1
		q ip -n "$ns" link set eth0 up || return 1
		q ip -n "$ns" link set lo up
	done
	# the client's link from the root namespace into the bridge
	q ip link add $ROOT_IF type veth peer name hroot netns $NS_HUB || return 1
	sysctl -q -w "net.ipv6.conf.$ROOT_IF.disable_ipv6=1" > /dev/null 2>&1
	q ip -n $NS_HUB link set hroot master br0 up || return 1
	q ip addr add "$CL_IP/24" dev $ROOT_IF || return 1
	q ip link set $ROOT_IF up || return 1
}
mfs_net_down() {
	local ns
	ip link del $ROOT_IF > /dev/null 2>&1
	for ns in $NS_CS $NS_M $NS_HUB; do
		ip netns list | grep -qw "$ns" && q ip netns del "$ns"
	done
	done_cleanup mfs_net_down
}

# pid of a MooseFS daemon from its lock file
mfs_pid() { [ -f "$1" ] && awk 'NR==1{print $1}' "$1" 2>/dev/null; }

moosefs_setup() {
	need_pkgs moosefs-master moosefs-chunkserver moosefs-client moosefs-cli ||
		{ log "moosefs: packages missing"; return 1; }
	id mfs > /dev/null 2>&1 || { log "moosefs: no user mfs"; return 1; }
	mfs_net_up || { log "moosefs: network namespaces failed"; return 1; }
	on_cleanup moosefs_down
	mkdir -p "$MB/etc" "$MB/master" "$MB/mnt"
	cat > "$MB/etc/mfsmaster.cfg" <<-CFG
	WORKING_USER = mfs
	WORKING_GROUP = mfs
	SYSLOG_IDENT = bp-mfsmaster
	DATA_PATH = $MB/master
	EXPORTS_FILENAME = $MB/etc/mfsexports.cfg
	TOPOLOGY_FILENAME = $MB/etc/mfstopology.cfg
	MATOML_LISTEN_HOST = $M_IP
	MATOCS_LISTEN_HOST = $M_IP
	MATOCL_LISTEN_HOST = $M_IP
	MATOML_LISTEN_PORT = 9419
	MATOCS_LISTEN_PORT = 9420
	MATOCL_LISTEN_PORT = 9421
	REPLICATIONS_DELAY_INIT = 0
	CFG
	printf '%s\t/\trw,alldirs,maproot=0\n%s\t.\trw\n' "$NET.0/24" "$NET.0/24" > "$MB/etc/mfsexports.cfg"
	: > "$MB/etc/mfstopology.cfg"
	cp /var/lib/mfs/metadata.mfs.empty "$MB/master/metadata.mfs" || return 1
	chown -R mfs:mfs "$MB/master"
	q nsx $NS_M mfsmaster -c "$MB/etc/mfsmaster.cfg" -a start || { log "moosefs: mfsmaster failed"; return 1; }
	local i=0 ns n=0 t
	# the master's client port, from the root namespace over the veth links
	for t in $(seq 1 20); do
		timeout 2 bash -c "exec 3<>/dev/tcp/$M_IP/9421" 2> /dev/null && break
		sleep 0.5
	done
	[ "$t" -lt 20 ] || { log "moosefs: master $M_IP:9421 not reachable over the veth links"; return 1; }
	for ns in $NS_CS; do
		i=$((i + 1))
		mkdir -p "$MB/cs$i/data" "$MB/cs$i/hdd"
		cat > "$MB/etc/mfschunkserver$i.cfg" <<-CFG
		WORKING_USER = mfs
		WORKING_GROUP = mfs
		SYSLOG_IDENT = bp-mfschunkserver$i
		DATA_PATH = $MB/cs$i/data
		HDD_CONF_FILENAME = $MB/etc/mfshdd$i.cfg
		HDD_LEAVE_SPACE_DEFAULT = 1GiB
		BIND_HOST = $NET.$((10 + i))
		MASTER_HOST = $M_IP
		MASTER_PORT = 9420
		CSSERV_LISTEN_HOST = $NET.$((10 + i))
		CSSERV_LISTEN_PORT = 9422
		CFG
		echo "$MB/cs$i/hdd" > "$MB/etc/mfshdd$i.cfg"
		chown -R mfs:mfs "$MB/cs$i"
		q nsx "$ns" mfschunkserver -c "$MB/etc/mfschunkserver$i.cfg" start ||
			{ log "moosefs: chunkserver $i failed"; return 1; }
	done
	# all chunkservers registered, with their disks scanned (total space > 0)
	for t in $(seq 1 60); do
		# -SCS lines, tab separated: field 11 is the total space
		n=$(mfscli -H $M_IP -P 9421 -SCS 2>/dev/null | awk -F'\t' '$1 == "chunk servers:" && $11 > 0' | wc -l)
		[ "$n" -ge 3 ] && break
		sleep 1
	done
	q mfscli -H $M_IP -P 9421 -SCS
	[ "$n" -ge 3 ] || { log "moosefs: only $n of 3 chunkservers registered"; return 1; }
	q mfsmount -H $M_IP -P 9421 "$MB/mnt" || { log "moosefs: mfsmount failed"; return 1; }
	q mfssetgoal -r 3 "$MB/mnt" || return 1
	q mfssettrashtime -r 0 "$MB/mnt"
	q mfsgetgoal "$MB/mnt"
}
moosefs_down() {
	local c pid
	unmount "$MB/mnt"
	for c in "$MB"/etc/mfschunkserver*.cfg; do
		[ -f "$c" ] || continue
		pid=$(mfs_pid "$(sed -n 's/^DATA_PATH = //p' "$c")/.mfschunkserver.lock")
		timeout 60 mfschunkserver -c "$c" stop >> "$LOG" 2>&1
		stop_pid "$pid" 10
	done
	if [ -f "$MB/etc/mfsmaster.cfg" ]; then
		pid=$(mfs_pid "$MB/master/.mfsmaster.lock")
		timeout 60 mfsmaster -c "$MB/etc/mfsmaster.cfg" stop >> "$LOG" 2>&1
		stop_pid "$pid" 10
	fi
	mfs_net_down
	keep_logs moosefs "$MB/etc"
	[ "$KEEP" = 1 ] || rm -rf "$MB"
	done_cleanup moosefs_down
}

# ---------------------------------------------------------------- main
need_pkgs fio python3 iproute2 psmisc || die "fio/python3/iproute2 missing"
{
	echo "date      $(date -u -Is)"
	echo "host      $(uname -srm), $(nproc) cpus, $(awk '/MemTotal/{print int($2/1048576)" GiB"}' /proc/meminfo)"
	echo "fio       $(fio --version)"
	echo "fffs      $FFFS $(git -C "$HERE/.." describe --always --dirty 2>/dev/null)"
	echo "gluster   $(dpkg-query -W -f='${Version}' glusterfs-server 2>/dev/null)"
	echo "moosefs   $(dpkg-query -W -f='${Version}' moosefs-master 2>/dev/null)"
	echo "jobs      size $SIZE, direct=1, randread runtime ${RUNTIME}s, metadata $NFILES files"
	echo "out       $OUT"
} | tee "$OUT/info.txt"

for sys in local fffs gluster moosefs; do
	mkdir -p "$OUT/$sys"
	if skipped $sys; then echo skipped > "$OUT/$sys/status"; continue; fi
	log "=== $sys"
	t0=$(date +%s)
	case $sys in
	local) setup=local_setup down=local_down dir=$LOCALD ;;
	fffs) setup=fffs_setup down=fffs_down dir=$FD/mnt ;;
	gluster) setup=gluster_setup down=gluster_down dir=$GB/mnt ;;
	moosefs) setup=moosefs_setup down=moosefs_down dir=$MB/mnt ;;
	esac
	if ! $setup; then
		echo "set-up failed (see $LOG)" > "$OUT/$sys/status"
		log "$sys: set-up failed"
	elif run_jobs $sys "$dir"; then
		echo ok > "$OUT/$sys/status"
	else
		echo "job failed (see $LOG, $OUT/$sys/*.err)" > "$OUT/$sys/status"
	fi
	df -h "$dir" >> "$LOG" 2>&1
	$down
	log "$sys: done in $(( $(date +%s) - t0 ))s"
done
rmdir "$OUT/data" 2>/dev/null

echo
python3 "$HELP/table.py" "$OUT" | tee "$OUT/table.txt"
echo
echo "raw results: $OUT"
