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

if [ $# -eq 2 ]; then
	check_pair "$1" "$2"
	exit 0
fi
check_pair "$BUILD/ringcap" "$doc/ringcap.8"
check_pair "$BUILD/ringcap-read" "$doc/ringcap-read.1"
