/*
 * util/log's priorities for the journal: when $JOURNAL_STREAM names the
 * stream stderr is (device:inode, as systemd sets it), every line starts with
 * its syslog priority, <3> error, <4> warning, <5> notice, <6> info, and the
 * text after it is the same as without; when it names another file, or is
 * unset, or is not "DEV:INO", no prefix. Control characters stay escaped.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/unit/unit.h"
#include "util/util.h"

enum level { ERR, WARN, NOTICE, INFO };

/* What one log call writes on stderr when stderr is a fresh temporary file
 * and $JOURNAL_STREAM is `journal` (NULL: unset; "self": that file's). */
static void logged(const char *journal, enum level level, const char *arg, char *out, size_t len)
{
	char path[] = "/tmp/ringcap-test-logj.XXXXXX", env[64];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	ssize_t n;

	CHECK(fd >= 0 && saved >= 0 && fstat(fd, &st) == 0, "mkstemp/dup/fstat");
	unlink(path);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	if (journal && !strcmp(journal, "self")) {
		snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	} else if (journal) {
		setenv("JOURNAL_STREAM", journal, 1);
	} else {
		unsetenv("JOURNAL_STREAM");
	}
	log_set_program("ringcap");
	switch (level) {
	case ERR: log_err("cannot open '%s'", arg); break;
	case WARN: log_warn("cannot open '%s'", arg); break;
	case NOTICE: log_notice("cannot open '%s'", arg); break;
	case INFO: log_info("cannot open '%s'", arg); break;
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

int main(void)
{
	static const struct { enum level level; const char *journal, *plain; } cases[] = {
		{ ERR, "<3>ringcap: cannot open 'a\\nb'\n", "ringcap: cannot open 'a\\nb'\n" },
		{ WARN, "<4>ringcap: warning: cannot open 'a\\nb'\n",
		  "ringcap: warning: cannot open 'a\\nb'\n" },
		{ NOTICE, "<5>ringcap: cannot open 'a\\nb'\n", "ringcap: cannot open 'a\\nb'\n" },
		{ INFO, "<6>ringcap: cannot open 'a\\nb'\n", "ringcap: cannot open 'a\\nb'\n" },
	};
	char out[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		logged("self", cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].journal), "journal, level %zu: %s", i, out);
		logged(NULL, cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].plain), "no JOURNAL_STREAM, level %zu: %s", i, out);
		/* the journal is another stream: stderr was redirected away from it */
		logged("1:1", cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].plain), "other stream, level %zu: %s", i, out);
		logged("garbage", cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].plain), "bad JOURNAL_STREAM, level %zu: %s", i, out);
	}
	return unit_exit("test_log_journal");
}
