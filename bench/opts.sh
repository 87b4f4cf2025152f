# Sourced by bench scripts that take only "--name VALUE" options (and -h).
#
#   bench_opts VAR=--name... -- "$@"   each --name VALUE given sets VAR; -h/--help
#                                      runs the caller's usage and exits 0; anything
#                                      else is one line on stderr and exit 2
#   in_range VALUE LO HI               true if VALUE is a whole number in LO..HI
# Needs the caller's PROG (for messages) and usage.

bench_bad() { echo "$PROG: bad $1 '$2': $3" >&2; exit 2; }

bench_opts() {
	local -A var=()
	while [ "$1" != -- ]; do var[${1#*=}]=${1%%=*}; shift; done
	shift
	while [ $# -gt 0 ]; do
		case $1 in -h|--help) usage; exit 0 ;; esac
		[ -n "${var[$1]:-}" ] || bench_bad option "$1" "see --help"
		[ $# -ge 2 ] || bench_bad option "$1" "needs a value"
		printf -v "${var[$1]}" %s "$2"
		shift 2
	done
}

in_range() { [[ $1 =~ ^[0-9]{1,9}$ ]] && [ $((10#$1)) -ge "$2" ] && [ $((10#$1)) -le "$3" ]; }
