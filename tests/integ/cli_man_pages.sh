#!/usr/bin/env bash
# The man pages' option lists against the option tables. Each program's --help
# is generated from its table (util/opt), one line per option in the option
# column; every option there must be a tag (.TP) of the man page's OPTIONS
# section, and every option a tag there names must be in the table. Runs the
# programs' --help only: no privileges, no network.
#   tests/integ/cli_man_pages.sh            (BUILD from tests/run.sh)
#   tests/integ/cli_man_pages.sh PROG MAN   one pair, for trying the check
source "$(dirname "$0")/../lib/testbed.sh"
doc=$(cd "$(dirname "$0")/../../doc" && pwd)

# "-i" and "--interface" from the option column of --help: two spaces and
# "-X, " or six spaces, then the long name (continuation lines have more)
table_options() {
	"$1" --help | sed -nE 's/^(  (-[[:alnum:]]), |      )--([[:alnum:]][[:alnum:]-]*).*/\2 --\3/p' |
		tr ' ' '\n' | sed '/^$/d' | sort -u
}

# the tag lines of the OPTIONS section, groff's \- as -, and the options on them
man_options() {
	awk '/^\.SH/ { in_opts = ($2 == "OPTIONS") } in_opts && prev == ".TP" { print } { prev = $0 }' "$1" |
		sed 's/\\-/-/g; s/\\f[BIRP]//g' |
		grep -oE -- '(^|[[:space:]"])--?[[:alnum:]][[:alnum:]-]*' | tr -d ' "' | sort -u
}

check_pair() { # PROG MAN
	local prog=$1 man=$2 t m missing extra
	t=$(table_options "$prog") || fail "$prog --help failed"
	m=$(man_options "$man")
	[ "$(echo "$t" | wc -l)" -gt 5 ] || fail "$prog: too few options read from --help: $t"
	missing=$(comm -23 <(echo "$t") <(echo "$m") | tr '\n' ' ')
	extra=$(comm -13 <(echo "$t") <(echo "$m") | tr '\n' ' ')
	[ -z "$missing" ] || fail "$(basename "$man") lacks options of $(basename "$prog")'s table: $missing"
	[ -z "$extra" ] || fail "$(basename "$man") documents options $(basename "$prog") does not have: $extra"
	echo "ok: $(basename "$man"): the $(echo "$t" | wc -l) option names of $(basename "$prog")'s table, no other"
}

# the synopsis's options: "-w" and "--block-size" wherever they stand
synopsis_options() {
	awk '/^\.SH/ { in_syn = ($2 == "SYNOPSIS") } in_syn' "$1" | sed 's/\\-/-/g; s/\\f[BIRP]//g' |
		grep -oE -- '(^|[][[:space:]|"])--?[[:alnum:]][[:alnum:]-]*' | tr -d ' []|"' | sort -u
}

check_synopsis() { # PROG MAN
	local prog=$1 man=$2 s t missing="" extra
	s=$(synopsis_options "$man")
	# one line per option of the table: "-i --interface" or "--duration"
	while read -r names; do
		local found=false
		for n in $names; do grep -qxF -- "$n" <<<"$s" && found=true; done
		$found || missing+="$names; "
	done < <("$prog" --help | sed -nE 's/^  (-[[:alnum:]]), --([[:alnum:]][[:alnum:]-]*).*/\1 --\2/p
		s/^      --([[:alnum:]][[:alnum:]-]*).*/--\1/p')
	t=$(table_options "$prog")
	extra=$(comm -13 <(echo "$t") <(echo "$s") | tr '\n' ' ')
	[ -z "$missing" ] || fail "$(basename "$man") SYNOPSIS lacks options of the table: $missing"
	[ -z "$extra" ] || fail "$(basename "$man") SYNOPSIS names options not in the table: $extra"
	echo "ok: $(basename "$man"): SYNOPSIS names every option of the table, no other"
}

# groff's and man's warnings (a stray quote, an unknown request, a line that
# cannot be broken): none, in every man page
check_warnings() {
	local f out
	command -v man >/dev/null || { echo "no man: warnings not checked"; return 0; }
	for f in "$doc"/*.[0-9]; do
		out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
		[ -z "$out" ] || fail "$(basename "$f"): man --warnings: $out"
		echo "ok: $(basename "$f"): no warnings"
	done
}

if [ $# -eq 2 ]; then
	check_pair "$1" "$2"
	exit 0
fi
check_pair "$BUILD/ringcap" "$doc/ringcap.8"
check_pair "$BUILD/ringcap-read" "$doc/ringcap-read.1"
check_synopsis "$BUILD/ringcap" "$doc/ringcap.8"
check_warnings
